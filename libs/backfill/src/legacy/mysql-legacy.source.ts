import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
import { SourceSystem } from '@app/config';
import { BackfillError, describeCause, redactUrl } from '../backfill.errors';
import { bigintValue, isoFromParts, KeyColumn, KeyType, LegacyRecord, LegacySource, ReadOrder, SourceBlock, splitTableName } from './legacy-source';

type Post = 'none' | 'int8' | 'iso' | 'json' | 'bytes';

interface ColumnPlan {
  name: string;
  expr: string;
  post: Post;
}

interface MyColumn extends RowDataPacket {
  name: string;
  data_type: string;
  column_type: string;
  precision: number | null;
}

const quote = (id: string): string => `\`${id.replace(/`/g, '``')}\``;
const EPOCH = `'1970-01-01 00:00:00'`;

/**
 * A MariaDB/MySQL legacy table, read-only, session time zone UTC. Values are converted in SQL to
 * what Debezium's MySQL connector sends (time.precision.mode=adaptive_time_microseconds):
 * `datetime(0-3)` as epoch milliseconds, `datetime(4-6)` as epoch microseconds, `timestamp` as
 * an ISO string, unless the sources configuration types the field otherwise; dates as days since
 * the epoch; decimals as text (decimal.handling.mode=string).
 */
export class MysqlLegacySource implements LegacySource {
  readonly dialect = 'mysql' as const;
  private readonly selectList: string;
  private readonly qualified: string;

  private constructor(
    readonly system: SourceSystem,
    readonly description: string,
    private readonly conn: Connection,
    readonly keyColumns: readonly KeyColumn[],
    private readonly columns: readonly ColumnPlan[],
    table: string,
  ) {
    this.qualified = quote(table);
    const keyTexts = keyColumns.map((k, i) => `CAST(${quote(k.name)} AS CHAR) AS \`__k${i}\``);
    this.selectList = [...columns.map((c) => `${c.expr} AS ${quote(c.name)}`), ...keyTexts].join(', ');
  }

  static async open(system: SourceSystem, url: string, urlEnv: string): Promise<MysqlLegacySource> {
    let conn: Connection;
    try {
      conn = await createConnection({ uri: url, connectTimeout: 5000, supportBigNumbers: true, bigNumberStrings: false, dateStrings: true, timezone: 'Z' });
    } catch (e) {
      throw new BackfillError('UNREACHABLE', `${system.name}: MySQL at ${redactUrl(url)} (${urlEnv}) is unreachable: ${describeCause(e)}`, e);
    }
    conn.on('error', () => undefined); // a dropped connection surfaces as the next query's error
    try {
      // Read-only for the whole session; UTC so that datetime arithmetic means what Debezium means.
      await conn.query('SET SESSION TRANSACTION READ ONLY');
      await conn.query(`SET time_zone = '+00:00'`);
      const { schema: configured, name } = splitTableName(system.table);
      const [dbRows] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS db');
      const db = configured ?? (dbRows[0].db as string | null) ?? '';
      const [cols] = await conn.query<MyColumn[]>(
        `SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type, DATETIME_PRECISION AS \`precision\`
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
        [db, name],
      );
      if (cols.length === 0) {
        throw new BackfillError('TABLE_MISSING', `${system.name}: table ${name} does not exist in MySQL database ${db || '(none selected)'} (${urlEnv})`);
      }
      const byName = new Map(cols.map((c) => [c.name, c]));
      const keys = system.recordKey.map((k): KeyColumn => {
        const col = byName.get(k);
        if (!col) throw new BackfillError('KEY_COLUMN_MISSING', `${system.name}: record key column "${k}" is not a column of ${db}.${name}`);
        return { name: k, type: keyType(col.data_type) };
      });
      const table = configured ? `${configured}.${name}` : name;
      const source = new MysqlLegacySource(
        system,
        `MySQL table ${db}.${name}`,
        conn,
        keys,
        cols.map((c) => plan(c, system.fields[c.name])),
        table,
      );
      return source;
    } catch (e) {
      await conn.end().catch(() => undefined);
      if (e instanceof BackfillError) throw e;
      throw new BackfillError('UNREACHABLE', `${system.name}: cannot read the table ${system.table} (${urlEnv}): ${describeCause(e)}`, e);
    }
  }

  async currentPosition(): Promise<SourceBlock> {
    const [now] = await this.conn.query<RowDataPacket[]>('SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS ts_ms');
    const tsMs = Number(now[0].ts_ms);
    const status = await this.binlogStatus();
    if (status) {
      // `Position` is where the next event will start, so a change committed from now on is at
      // `Position` or later; one byte before it, every such event compares as newer.
      return { file: status.file, pos: status.pos - 1, row: 0, ts_ms: tsMs };
    }
    // No binlog: no Debezium connector can read this server, so no binlog position to agree with.
    // Binlog timestamps have second precision: a start floored to the second (minus 1 ms) lets an
    // event of the same second count as newer.
    return { ts_ms: Math.floor(tsMs / 1000) * 1000 - 1 };
  }

  async estimateRows(): Promise<number> {
    const { schema, name } = splitTableName(this.system.table);
    const [rows] = await this.conn.query<RowDataPacket[]>(
      `SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?`,
      [schema, name],
    );
    const n = Number(rows[0]?.n ?? 0);
    if (n > 0) return n;
    const [counted] = await this.conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${this.qualified}`);
    return Number(counted[0].n);
  }

  async readBatch(after: readonly string[] | null, limit: number, order: ReadOrder): Promise<LegacyRecord[]> {
    const exprs = this.keyColumns.map((k) => (order === 'bytes' && k.type === 'text' ? `CAST(${quote(k.name)} AS BINARY)` : quote(k.name)));
    const params: unknown[] = [];
    let where = '';
    if (after) {
      // Spelled out rather than as a row comparison, which older MariaDB cannot use an index for.
      const ors = exprs.map((_, i) => {
        const eqs = exprs.slice(0, i).map((e, j) => {
          params.push(this.param(j, after[j]));
          return `${e} = ?`;
        });
        params.push(this.param(i, after[i]));
        return `(${[...eqs, `${exprs[i]} > ?`].join(' AND ')})`;
      });
      where = `WHERE ${ors.join(' OR ')}`;
    }
    params.push(limit);
    const [rows] = await this.conn.query<RowDataPacket[]>(`SELECT ${this.selectList} FROM ${this.qualified} ${where} ORDER BY ${exprs.join(', ')} LIMIT ?`, params);
    return rows.map((r) => this.toRecord(r));
  }

  async readKeys(keys: readonly string[][]): Promise<LegacyRecord[]> {
    const valid = keys.filter((k) => this.keyColumns.every((c, i) => c.type !== 'integer' || /^-?\d+$/.test(k[i])));
    if (valid.length === 0) return [];
    const cols = this.keyColumns.map((k) => quote(k.name)).join(', ');
    const tuples = valid.map((k) => `(${k.map(() => '?').join(', ')})`).join(', ');
    const params = valid.flatMap((k) => k.map((v, i) => this.param(i, v)));
    const [rows] = await this.conn.query<RowDataPacket[]>(`SELECT ${this.selectList} FROM ${this.qualified} WHERE (${cols}) IN (${tuples})`, params);
    return rows.map((r) => this.toRecord(r));
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => undefined);
  }

  /** Integer keys are bound as numbers so that the comparison stays numeric and uses the index. */
  private param(i: number, v: string): unknown {
    return this.keyColumns[i].type === 'integer' ? bigintValue(v) : v;
  }

  private async binlogStatus(): Promise<{ file: string; pos: number } | null> {
    let rows: RowDataPacket[];
    try {
      [rows] = await this.conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
    } catch (e) {
      // MySQL 8.4 removed SHOW MASTER STATUS in favour of SHOW BINARY LOG STATUS.
      if ((e as { errno?: number }).errno !== 1064) throw e;
      [rows] = await this.conn.query<RowDataPacket[]>('SHOW BINARY LOG STATUS');
    }
    const r = rows[0];
    if (!r || typeof r.File !== 'string' || r.File === '') return null;
    return { file: r.File, pos: Number(r.Position) };
  }

  private toRecord(r: RowDataPacket): LegacyRecord {
    const row: Record<string, unknown> = {};
    for (const c of this.columns) row[c.name] = convert(r[c.name], c.post);
    const key = this.keyColumns.map((_, i) => String(r[`__k${i}`]));
    return { row, key };
  }
}

function convert(v: unknown, post: Post): unknown {
  if (v === null || v === undefined) return null;
  switch (post) {
    case 'none':
      return v;
    case 'int8':
      return bigintValue(typeof v === 'number' ? v : String(v));
    case 'iso':
      return isoFromParts(String(v));
    case 'json':
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'bytes':
      return Buffer.isBuffer(v) ? v.toString('base64') : String(v);
  }
}

function keyType(dataType: string): KeyType {
  return /^(tinyint|smallint|mediumint|int|integer|bigint)$/i.test(dataType) ? 'integer' : 'text';
}

function plan(c: MyColumn, configured: string | undefined): ColumnPlan {
  const q = quote(c.name);
  const t = c.data_type.toLowerCase();
  if (t === 'datetime' || t === 'timestamp') {
    const micros = `TIMESTAMPDIFF(MICROSECOND, ${EPOCH}, ${q})`;
    const millis = `FLOOR(${micros} / 1000)`;
    const iso = `DATE_FORMAT(${q}, '%Y-%m-%dT%H:%i:%s.%f')`;
    if (configured === 'timestamp-millis') return { name: c.name, expr: millis, post: 'int8' };
    if (configured === 'timestamp-micros') return { name: c.name, expr: micros, post: 'int8' };
    if (configured === 'timestamp' || t === 'timestamp') return { name: c.name, expr: iso, post: 'iso' };
    return (c.precision ?? 0) > 3 ? { name: c.name, expr: micros, post: 'int8' } : { name: c.name, expr: millis, post: 'int8' };
  }
  if (t === 'date') return { name: c.name, expr: `DATEDIFF(${q}, '1970-01-01')`, post: 'none' };
  if (t === 'time') return { name: c.name, expr: `TIME_TO_SEC(${q}) * 1000000 + MICROSECOND(${q})`, post: 'int8' };
  if (t === 'json') return { name: c.name, expr: q, post: 'json' };
  if (/blob|binary|bit/.test(t)) return { name: c.name, expr: q, post: 'bytes' };
  if (/int$/.test(t) || t === 'bigint') return { name: c.name, expr: q, post: 'int8' };
  if (t === 'decimal' || t === 'numeric') return { name: c.name, expr: `CAST(${q} AS CHAR)`, post: 'none' };
  return { name: c.name, expr: q, post: 'none' };
}

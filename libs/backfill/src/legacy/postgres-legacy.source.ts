import { Client } from 'pg';
import { SourceSystem } from '@app/config';
import { BackfillError, describeCause, redactUrl } from '../backfill.errors';
import { bigintValue, isoFromParts, KeyColumn, KeyType, LegacyRecord, LegacySource, ReadOrder, SourceBlock, splitTableName } from './legacy-source';

type Post = 'none' | 'int8' | 'iso';

interface ColumnPlan {
  name: string;
  /** SELECT expression giving the value in Debezium's JSON form (or close to it, see `post`). */
  expr: string;
  post: Post;
}

interface PgColumn {
  name: string;
  typname: string;
  /** As SQL spells it, for casts: `integer`, `uuid`, `character varying(32)`. */
  sqltype: string;
}

const quote = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/** How long to wait for transactions older than the start position before reading anyway. */
const XMIN_WAIT_MS = 60_000;

/**
 * A PostgreSQL legacy table, read-only. Values are converted in SQL to what Debezium's
 * PostgreSQL connector sends (time.precision.mode=adaptive): integers and booleans as JSON
 * numbers and booleans; `timestamp` as microseconds since the epoch, `timestamptz` as an ISO
 * string in UTC, unless the sources configuration types the field otherwise; dates as days since
 * the epoch; numeric, json and anything else as text.
 */
export class PostgresLegacySource implements LegacySource {
  readonly dialect = 'postgres' as const;
  private readonly selectList: string;
  private readonly qualified: string;
  private readonly batchSql = new Map<string, string>();

  private constructor(
    readonly system: SourceSystem,
    readonly description: string,
    private readonly client: Client,
    readonly keyColumns: readonly KeyColumn[],
    private readonly columns: readonly ColumnPlan[],
    private readonly keySqlTypes: readonly string[],
    schema: string,
    table: string,
  ) {
    this.qualified = `${quote(schema)}.${quote(table)}`;
    const keyTexts = keyColumns.map((k, i) => `${quote(k.name)}::text AS "__k${i}"`);
    this.selectList = [...columns.map((c) => `${c.expr} AS ${quote(c.name)}`), ...keyTexts].join(', ');
  }

  static async open(system: SourceSystem, url: string, urlEnv: string): Promise<PostgresLegacySource> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000, application_name: 'statusview-backfill' });
    client.on('error', () => undefined); // a dropped connection surfaces as the next query's error
    try {
      await client.connect();
      // Read-only for the whole session: nothing this process sends can change the legacy data.
      await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    } catch (e) {
      await client.end().catch(() => undefined);
      throw new BackfillError('UNREACHABLE', `${system.name}: PostgreSQL at ${redactUrl(url)} (${urlEnv}) is unreachable: ${describeCause(e)}`, e);
    }
    try {
      const { schema: configured, name } = splitTableName(system.table);
      const schema: string = configured ?? ((await client.query('SELECT current_schema() AS s')).rows[0] as { s: string }).s;
      const { rows } = await client.query<PgColumn>(
        `SELECT a.attname AS name, t.typname, format_type(a.atttypid, a.atttypmod) AS sqltype
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t ON t.oid = a.atttypid
         WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
         ORDER BY a.attnum`,
        [schema, name],
      );
      const db = client.database ?? '';
      const description = `PostgreSQL table ${schema}.${name} in database ${db}`;
      if (rows.length === 0) {
        throw new BackfillError('TABLE_MISSING', `${system.name}: table ${schema}.${name} does not exist in PostgreSQL database ${db} (${urlEnv})`);
      }
      const byName = new Map(rows.map((r) => [r.name, r]));
      const keys = system.recordKey.map((k): KeyColumn => {
        const col = byName.get(k);
        if (!col) throw new BackfillError('KEY_COLUMN_MISSING', `${system.name}: record key column "${k}" is not a column of ${schema}.${name}`);
        return { name: k, type: keyType(col.typname) };
      });
      const plans = rows.map((c) => plan(c, system.fields[c.name]));
      const keySqlTypes = keys.map((k) => (byName.get(k.name) as PgColumn).sqltype);
      return new PostgresLegacySource(system, description, client, keys, plans, keySqlTypes, schema, name);
    } catch (e) {
      await client.end().catch(() => undefined);
      if (e instanceof BackfillError) throw e;
      throw new BackfillError('UNREACHABLE', `${system.name}: cannot read the table ${system.table} (${urlEnv}): ${describeCause(e)}`, e);
    }
  }

  async currentPosition(onWait?: (message: string) => void): Promise<SourceBlock> {
    // A standby has no current WAL insert position; what it has replayed is what it shows.
    const { rows } = await this.client.query<{ lsn: string; ts_ms: string }>(
      `SELECT ((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END) - '0/0')::text AS lsn,
              (extract(epoch FROM clock_timestamp()) * 1000)::int8::text AS ts_ms`,
    );
    // Taken after the lsn: a transaction that gets its id later writes its WAL after that lsn.
    const snap = await this.client.query<{ xmax: string }>(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`);
    const xmax = snap.rows[0].xmax;
    // A transaction still open now may have written changes *before* this lsn that it commits
    // later: its events would then lose against a backfilled row read before its commit. Once every
    // transaction older than the snapshot has ended, all changes below the lsn are visible to our reads.
    const deadline = Date.now() + XMIN_WAIT_MS;
    let told = false;
    for (;;) {
      const done = await this.client.query<{ done: boolean }>(`SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS done`, [xmax]);
      if (done.rows[0].done) break;
      if (Date.now() > deadline) {
        onWait?.(`${this.system.name}: transactions older than the start position are still open after ${XMIN_WAIT_MS / 1000} s; reading anyway`);
        break;
      }
      if (!told) onWait?.(`${this.system.name}: waiting for transactions older than the start position to end`);
      told = true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { lsn: Number(rows[0].lsn), ts_ms: Number(rows[0].ts_ms) };
  }

  async estimateRows(): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`SELECT reltuples::int8::text AS n FROM pg_class WHERE oid = $1::regclass`, [this.qualified]);
    const n = Number(rows[0]?.n ?? -1);
    if (n > 0) return n;
    const counted = await this.client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${this.qualified}`);
    return Number(counted.rows[0].n);
  }

  async readBatch(after: readonly string[] | null, limit: number, order: ReadOrder): Promise<LegacyRecord[]> {
    const sql = this.batchQuery(after !== null, order);
    const params: unknown[] = after ? [...after, limit] : [limit];
    // Rows as arrays (the select list's order): no object per row from the driver.
    const { rows } = await this.client.query<unknown[]>({ name: `sv-batch-${after ? 'a' : 'f'}-${order}`, text: sql, values: params, rowMode: 'array' });
    return rows.map((r) => this.fromArray(r));
  }

  async readKeys(keys: readonly string[][]): Promise<LegacyRecord[]> {
    // A text that is no integer cannot be a row of an integer key (and would not cast).
    const valid = keys.filter((k) => this.keyColumns.every((c, i) => c.type !== 'integer' || /^-?\d+$/.test(k[i])));
    if (valid.length === 0) return [];
    const arrays = this.keyColumns.map((_, i) => valid.map((k) => k[i]));
    const cols = this.keyColumns.map((k) => quote(k.name)).join(', ');
    // Cast the texts to the columns' own types so that the primary key index answers.
    const casts = this.keySqlTypes.map((t, i) => `k${i}::${t}`).join(', ');
    const unnest = this.keyColumns.map((_, i) => `$${i + 1}::text[]`).join(', ');
    const names = this.keyColumns.map((_, i) => `k${i}`).join(', ');
    const sql = `SELECT ${this.selectList} FROM ${this.qualified} WHERE (${cols}) IN (SELECT ${casts} FROM unnest(${unnest}) AS u(${names}))`;
    const { rows } = await this.client.query(sql, arrays);
    return rows.map((r: Record<string, unknown>) => this.toRecord(r));
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private toRecord(r: Record<string, unknown>): LegacyRecord {
    const row: Record<string, unknown> = {};
    for (const c of this.columns) row[c.name] = convert(r[c.name], c.post);
    const key = this.keyColumns.map((_, i) => r[`__k${i}`] as string);
    return { row, key };
  }

  private fromArray(r: unknown[]): LegacyRecord {
    const row: Record<string, unknown> = {};
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) row[columns[i].name] = convert(r[i], columns[i].post);
    const key: string[] = [];
    for (let i = 0; i < this.keyColumns.length; i++) key.push(r[columns.length + i] as string);
    return { row, key };
  }

  private batchQuery(hasAfter: boolean, order: ReadOrder): string {
    const id = `${hasAfter}:${order}`;
    let sql = this.batchSql.get(id);
    if (sql) return sql;
    const keyExprs = this.keyColumns.map((k) => (order === 'bytes' && k.type === 'text' ? `${quote(k.name)} COLLATE "C"` : quote(k.name)));
    const n = keyExprs.length;
    // A row comparison: PostgreSQL turns it into one index range condition.
    const where = hasAfter ? `WHERE (${keyExprs.join(', ')}) > (${keyExprs.map((_, i) => `$${i + 1}`).join(', ')})` : '';
    sql = `SELECT ${this.selectList} FROM ${this.qualified} ${where} ORDER BY ${keyExprs.join(', ')} LIMIT $${hasAfter ? n + 1 : 1}`;
    this.batchSql.set(id, sql);
    return sql;
  }
}

function convert(v: unknown, post: Post): unknown {
  return post === 'none' || v === null ? v : post === 'int8' ? bigintValue(v) : isoFromParts(v as string);
}

function keyType(typname: string): KeyType {
  if (typname === 'int2' || typname === 'int4' || typname === 'int8') return 'integer';
  if (typname === 'uuid') return 'uuid';
  return 'text';
}

const ISO_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.US'`;

function plan(c: PgColumn, configured: string | undefined): ColumnPlan {
  const q = quote(c.name);
  const t = c.typname;
  if (t === 'timestamp' || t === 'timestamptz') {
    const utc = t === 'timestamptz' ? `(${q} AT TIME ZONE 'UTC')` : q;
    if (configured === 'timestamp-millis') return { name: c.name, expr: `floor(extract(epoch FROM ${q}) * 1000)::int8`, post: 'int8' };
    if (configured === 'timestamp-micros') return { name: c.name, expr: `(extract(epoch FROM ${q}) * 1000000)::int8`, post: 'int8' };
    if (configured === 'timestamp' || t === 'timestamptz') return { name: c.name, expr: `to_char(${utc}, ${ISO_FORMAT})`, post: 'iso' };
    // Debezium's MicroTimestamp: a timestamp without time zone read as UTC.
    return { name: c.name, expr: `(extract(epoch FROM ${q}) * 1000000)::int8`, post: 'int8' };
  }
  switch (t) {
    case 'int2':
    case 'int4':
    case 'float4':
    case 'float8':
    case 'bool':
    case 'text':
    case 'varchar':
    case 'bpchar':
      return { name: c.name, expr: q, post: 'none' };
    case 'int8':
      return { name: c.name, expr: q, post: 'int8' };
    case 'date':
      return { name: c.name, expr: `(${q} - date '1970-01-01')`, post: 'none' };
    case 'time':
      return { name: c.name, expr: `(extract(epoch FROM ${q}) * 1000000)::int8`, post: 'int8' };
    default:
      // uuid, numeric (decimal.handling.mode=string), json/jsonb (io.debezium.data.Json is a string), enums, arrays.
      return { name: c.name, expr: `${q}::text`, post: 'none' };
  }
}

import { createConnection, RowDataPacket } from 'mysql2';
import { Connection as PromiseConnection } from 'mysql2/promise';
import { DirectSourceContext } from '../direct-source';
import { applySnapshotBatch, SnapshotChange, snapshotChange, snapshotEnd } from '../snapshot-batch';
import { BinlogPoint, rowPosition } from './binlog-position';
import { BinlogColumn, BinlogRowConverter } from './binlog-row.converter';

const quote = (id: string): string => `\`${id.replace(/`/g, '``')}\``;

/** Rows read ahead of the batch being applied before the connection is paused. */
const READ_AHEAD = 1_000;
/** How long the snapshot's global read lock (MySQL) may wait behind running statements: it blocks the server's writes while it waits. */
const LOCK_WAIT_S = 10;
/** The server keeps the paused read open this long while a batch is retried (its default, 60 s, would drop it). */
const NET_WRITE_TIMEOUT_S = 3_600;
/** Engines whose tables a consistent snapshot isolates. */
const TRANSACTIONAL = new Set(['innodb', 'xtradb', 'rocksdb']);

/** Why the table could not be read in a snapshot tied to a binlog position; the source then streams from the binlog's end. */
export class NoConsistentSnapshot extends Error {}

/**
 * The first start's load of a table read from the binlog: the table read inside a consistent
 * snapshot (REPEATABLE READ, START TRANSACTION WITH CONSISTENT SNAPSHOT) whose binlog position
 * is known, so that the stream that starts there holds exactly the transactions the snapshot did
 * not: no gap, no overlap, nothing racing. MariaDB gives the snapshot's position without a lock
 * (`Binlog_snapshot_file`/`Binlog_snapshot_position`); MySQL needs a global read lock for the
 * moment the snapshot starts (FLUSH TABLES WITH READ LOCK, which takes RELOAD), as Debezium's
 * snapshot does. The rows, converted as the stream converts them, are positioned one byte before
 * that point, so every streamed change is newer; the load ends with the truncate of snapshotEnd.
 * Returns the point to stream from and how many rows were loaded.
 */
export async function loadBinlogSnapshot(
  ctx: DirectSourceContext,
  table: { db: string; name: string },
  mariadb: boolean,
  keepGoing: () => boolean,
): Promise<{ point: BinlogPoint; rows: number }> {
  const raw = createConnection({ uri: ctx.url, connectTimeout: 5_000, dateStrings: true, jsonStrings: true, supportBigNumbers: true, bigNumberStrings: false, timezone: 'Z' });
  raw.on('error', () => undefined); // a dropped connection surfaces as the next query's error
  const conn = raw.promise();
  try {
    await conn.query(`SET time_zone = '+00:00'`);
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await conn.query(`SET SESSION net_write_timeout = ${NET_WRITE_TIMEOUT_S}, SESSION lock_wait_timeout = ${LOCK_WAIT_S}`);
    const [engine] = await conn.query<RowDataPacket[]>('SELECT ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [table.db, table.name]);
    const kind = String(engine[0]?.engine ?? '').toLowerCase();
    if (!TRANSACTIONAL.has(kind)) throw new NoConsistentSnapshot(`${table.db}.${table.name} is a ${engine[0]?.engine ?? 'non-transactional'} table, which a consistent snapshot does not isolate`);
    const point = mariadb ? await mariadbSnapshot(conn) : await mysqlSnapshot(conn);
    const [columns] = await conn.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [table.db, table.name],
    );
    const converter = new BinlogRowConverter(columns as unknown as BinlogColumn[], ctx.system.fields);
    const position = rowPosition(point.file, Math.max(0, point.pos - 1), 0, Date.now());
    const order = ctx.system.recordKey.map(quote).join(', ');
    const rows = raw.query(`SELECT * FROM ${quote(table.db)}.${quote(table.name)} ORDER BY ${order}`).stream({ highWaterMark: READ_AHEAD });
    let batch: SnapshotChange[] = [];
    let n = 0;
    for await (const row of rows as AsyncIterable<Record<string, unknown>>) {
      if (!keepGoing()) throw new Error('stopped during the snapshot load');
      batch.push(snapshotChange(ctx, converter.convert(row), position));
      if (batch.length >= ctx.env.cdc.batchSize) {
        await applySnapshotBatch(ctx, batch, keepGoing);
        n += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await applySnapshotBatch(ctx, batch, keepGoing);
    n += batch.length;
    await conn.query('COMMIT');
    await applySnapshotBatch(ctx, [snapshotEnd(ctx, position)], keepGoing);
    await conn.end();
    return { point, rows: n };
  } catch (e) {
    // Not end(): it would wait for the rest of the table to be read and thrown away.
    raw.destroy();
    throw e;
  }
}

/** MariaDB: the snapshot's own binlog position, read in the transaction, no lock taken. */
async function mariadbSnapshot(conn: PromiseConnection): Promise<BinlogPoint> {
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  const [status] = await conn.query<RowDataPacket[]>(`SHOW STATUS LIKE 'binlog_snapshot_%'`);
  const v = new Map(status.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
  const file = v.get('binlog_snapshot_file');
  const pos = Number(v.get('binlog_snapshot_position'));
  if (!file || !Number.isSafeInteger(pos) || pos <= 0) throw new NoConsistentSnapshot('the server shows no Binlog_snapshot_file/Binlog_snapshot_position');
  return { file, pos };
}

/** MySQL: a global read lock while the snapshot starts and the binlog position is read, released at once. */
async function mysqlSnapshot(conn: PromiseConnection): Promise<BinlogPoint> {
  try {
    await conn.query('FLUSH TABLES WITH READ LOCK');
  } catch (e) {
    // Only a missing grant falls back; a lock that timed out (a long statement held it off) or a lost connection fails the start, which is retried.
    if ((e as { errno?: number }).errno !== 1227) throw e;
    throw new NoConsistentSnapshot(`FLUSH TABLES WITH READ LOCK was refused (${(e as Error).message}): grant the source's user RELOAD for a consistent first load`);
  }
  try {
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    let rows: RowDataPacket[];
    try {
      [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
    } catch (e) {
      if ((e as { errno?: number }).errno !== 1064) throw e;
      [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOG STATUS');
    }
    if (!rows[0]?.File) throw new NoConsistentSnapshot('SHOW MASTER STATUS shows no binlog');
    return { file: String(rows[0].File), pos: Number(rows[0].Position) };
  } finally {
    await conn.query('UNLOCK TABLES');
  }
}

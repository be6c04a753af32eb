import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
import { SourceCheckpoint } from '@app/change-events';
import { BinlogPoint } from './binlog-position';
import { MysqlSourceError } from './mysql-source.errors';

export interface BinlogServer {
  version: string;
  /** The server's binlog end now: where the next event will be written. */
  end: BinlogPoint;
  /** The binlog files the server still has, oldest first, with their sizes. */
  files: Array<{ file: string; size: number }>;
  gtid: string | null;
}

const FIX = 'start the server with log_bin, binlog_format=ROW and binlog_row_image=FULL (an option file under [mysqld]; a restart is needed)';

/**
 * What reading the binlog needs of the server, checked before streaming so that a setting that
 * would make changes unreadable (or silently partial) stops the source with what to change: the
 * binlog on, row-based, full row images, and the grants to read it.
 */
export async function checkBinlogServer(conn: Connection, who: string): Promise<BinlogServer> {
  const [vars] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS version, @@log_bin AS log_bin, @@binlog_format AS format, @@binlog_row_image AS row_image');
  const v = vars[0];
  if (Number(v.log_bin) !== 1) throw new MysqlSourceError('BINLOG_OFF', `${who}: the binary log is off (@@log_bin = 0): changes cannot be read directly; ${FIX}`);
  if (String(v.format).toUpperCase() !== 'ROW') {
    throw new MysqlSourceError('BINLOG_NOT_ROW', `${who}: @@binlog_format is ${String(v.format)}, not ROW: its events carry statements, not the rows they changed; ${FIX}`);
  }
  if (String(v.row_image).toUpperCase() !== 'FULL') {
    throw new MysqlSourceError('ROW_IMAGE_NOT_FULL', `${who}: @@binlog_row_image is ${String(v.row_image)}, not FULL: updates would lack the columns they did not change; ${FIX}`);
  }
  const status = await binlogStatus(conn, who);
  const files = await binaryLogs(conn, who);
  const [gtid] = await conn.query<RowDataPacket[]>('SELECT @@gtid_binlog_pos AS gtid').catch(() => conn.query<RowDataPacket[]>('SELECT @@gtid_executed AS gtid'));
  return { version: String(v.version), end: status, files, gtid: typeof gtid[0]?.gtid === 'string' && gtid[0].gtid !== '' ? gtid[0].gtid : null };
}

export async function binlogStatus(conn: Connection, who: string): Promise<BinlogPoint> {
  let rows: RowDataPacket[];
  try {
    [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
  } catch (e) {
    // MySQL 8.4 removed SHOW MASTER STATUS in favour of SHOW BINARY LOG STATUS.
    if ((e as { errno?: number }).errno === 1064) [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOG STATUS');
    else throw grantError(e, who);
  }
  const r = rows[0];
  if (!r || typeof r.File !== 'string' || r.File === '') {
    throw new MysqlSourceError('NO_REPLICATION_GRANT', `${who}: SHOW MASTER STATUS shows no binlog: the user needs REPLICATION CLIENT (MariaDB: BINLOG MONITOR) and REPLICATION SLAVE`);
  }
  return { file: r.File, pos: Number(r.Position) };
}

export async function binaryLogs(conn: Connection, who: string): Promise<Array<{ file: string; size: number }>> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
    return rows.map((r) => ({ file: String(r.Log_name), size: Number(r.File_size) }));
  } catch (e) {
    throw grantError(e, who);
  }
}

function grantError(e: unknown, who: string): Error {
  const errno = (e as { errno?: number }).errno;
  // 1227: access denied, you need (at least one of) the ... privilege(s).
  if (errno === 1227 || errno === 1045 || errno === 1142) {
    return new MysqlSourceError(
      'NO_REPLICATION_GRANT',
      `${who}: ${(e as Error).message}: grant the source's user REPLICATION SLAVE and REPLICATION CLIENT (MariaDB 10.5+: REPLICATION SLAVE, BINLOG MONITOR) and SELECT on the table`,
      e,
    );
  }
  return e as Error;
}

/** The table's columns, which the binlog's rows are decoded against; none means the table does not exist. */
export async function tableColumns(conn: Connection, db: string, table: string): Promise<string[]> {
  const [cols] = await conn.query<RowDataPacket[]>('SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [db, table]);
  return cols.map((c) => String(c.name));
}

/** The start of a snapshot-load checkpoint's text (a start that finds one loads the table again). */
export const SNAPSHOT_LOADING = 'snapshot loading';

/** Why a table is loaded again: the first start's load under way, or the operator's reset. */
export type SnapshotLoadReason = 'first start' | 'asked by direct-checkpoint reset';

/**
 * The checkpoint that stands while a snapshot load is under way, or that asks the next start for
 * one (`direct-checkpoint reset`, the way out of a purged checkpoint): a start that finds it loads
 * the table in a consistent snapshot and streams from that snapshot's binlog position.
 */
export function snapshotLoadingCheckpoint(source: string, reason: SnapshotLoadReason): SourceCheckpoint {
  return { source, position: { kind: 'ts', key: '0', text: `${SNAPSHOT_LOADING} (${reason})`, tsMs: Date.now() }, gtid: null };
}

/**
 * The binlog dumps running on the server with the URL's user (a user sees its own threads without
 * PROCESS): a statusview streaming that system, or another reader with the same user.
 */
export async function binlogReaders(url: string): Promise<string[]> {
  const conn = await createConnection({ uri: url, connectTimeout: 10_000 });
  try {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT ID AS id, HOST AS host, TIME AS seconds FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%' AND USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)`,
    );
    return rows.map((r) => `thread ${r.id} from ${r.host}, ${r.seconds} s`);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

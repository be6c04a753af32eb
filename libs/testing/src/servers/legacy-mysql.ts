import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
import { parseDocument } from 'yaml';
import { fromRoot } from '@app/config';

const MYSQL_ADMIN = process.env.TEST_MYSQL_ADMIN_URL ?? 'mysql://root@127.0.0.1:3306';

/**
 * A legacy MariaDB/MySQL database of one test file's own (`legacy_my_<random>`) on the machine's
 * server, with the reference billing table (config/legacy/billing.sql), for the direct binlog
 * source: the server is shared, so a test never changes its settings, only its own database.
 */
export class LegacyMysqlDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
    readonly conn: Connection,
  ) {}

  static async create(): Promise<LegacyMysqlDatabase> {
    const name = `legacy_my_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const url = `${MYSQL_ADMIN.replace(/\/$/, '')}/${name}`;
    const admin = await createConnection({ uri: MYSQL_ADMIN });
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.end();
    const conn = await createConnection({ uri: url, multipleStatements: true, timezone: 'Z' });
    await conn.query(`SET time_zone = '+00:00'`);
    await conn.query(readFileSync(fromRoot('config/legacy/billing.sql'), 'utf8'));
    return new LegacyMysqlDatabase(name, url, conn);
  }

  /** A connection of its own (e.g. to change a session setting). */
  static connect(url: string): Promise<Connection> {
    return createConnection({ uri: url, timezone: 'Z' });
  }

  query(sql: string, params: unknown[] = []) {
    return this.conn.query(sql, params);
  }

  /** The server's binlog end now (`SHOW MASTER STATUS`). */
  async binlogEnd(): Promise<{ file: string; pos: number }> {
    const [rows] = await this.conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
    return { file: String(rows[0].File), pos: Number(rows[0].Position) };
  }

  async drop(): Promise<void> {
    await this.conn.query(`DROP DATABASE IF EXISTS \`${this.name}\``).catch(() => undefined);
    await this.conn.end().catch(() => undefined);
  }
}

/**
 * A copy of config/ whose sources.yaml reads the given systems directly (`changes: direct`), the
 * rest unchanged; `dispose` removes it.
 */
export function directConfigDir(systems: string[]): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'statusview-config-'));
  cpSync(fromRoot('config'), dir, { recursive: true });
  const file = join(dir, 'sources.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const s of systems) doc.setIn(['systems', s, 'changes'], 'direct');
  writeFileSync(file, doc.toString());
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

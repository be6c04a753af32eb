import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
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


import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { Connection, createConnection } from 'mysql2/promise';

const ROOT = join(__dirname, '../../..');
const PG_ADMIN = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MYSQL_ADMIN = process.env.TEST_MYSQL_ADMIN_URL ?? 'mysql://root@127.0.0.1:3306';

/** `legacy_<system>_<base36 ms>_<hex>`: made more than an hour ago. */
function isStale(name: string): boolean {
  const part = name.split('_')[2] ?? '';
  const created = parseInt(part, 36);
  // Only names this helper made (a base-36 time since 2024); never someone else's database.
  return /^[0-9a-z]{8}$/.test(part) && created > Date.UTC(2024, 0, 1) && Date.now() - created > 3_600_000;
}

const ddl = (system: string): string => readFileSync(join(ROOT, 'config/legacy', `${system}.sql`), 'utf8');

/** A PostgreSQL legacy database of its own, with a reference table from config/legacy/*.sql. */
export class LegacyPostgres {
  private constructor(
    readonly name: string,
    readonly url: string,
    readonly client: Client,
  ) {}

  static async create(system: 'crm' | 'portal'): Promise<LegacyPostgres> {
    const name = `legacy_${system}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const admin = new Client({ connectionString: PG_ADMIN });
    await admin.connect();
    // Databases of earlier runs that died before dropping theirs (an hour old: a parallel run may be using younger ones).
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`legacy\\_${system}\\_%`]);
    for (const r of rows.filter((x) => isStale(x.datname))) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`).catch(() => undefined);
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(PG_ADMIN);
    url.pathname = `/${name}`;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    await client.query(ddl(system));
    return new LegacyPostgres(name, url.toString(), client);
  }

  query(sql: string, params: unknown[] = []) {
    return this.client.query(sql, params);
  }

  /** The WAL position now, as Debezium's `source.lsn` would carry it for a change made next. */
  async lsn(): Promise<number> {
    const { rows } = await this.client.query<{ lsn: string }>(`SELECT (pg_current_wal_lsn() - '0/0')::text AS lsn`);
    return Number(rows[0].lsn);
  }

  async drop(): Promise<void> {
    await this.client.end().catch(() => undefined);
    const admin = new Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
    await admin.end();
  }
}

/** A MariaDB/MySQL legacy database of its own, with the billing table. */
export class LegacyMysql {
  private constructor(
    readonly name: string,
    readonly url: string,
    readonly conn: Connection,
  ) {}

  static async create(system: 'billing'): Promise<LegacyMysql> {
    const name = `legacy_${system}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const admin = await createConnection({ uri: MYSQL_ADMIN });
    const [old] = await admin.query(`SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?`, [`legacy\\_${system}\\_%`]);
    // Leftovers of runs that died: only those older than an hour, a parallel run may be using the others.
    for (const r of (old as Array<{ name: string }>).filter((x) => isStale(x.name))) await admin.query(`DROP DATABASE IF EXISTS \`${r.name}\``);
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.end();
    const url = `${MYSQL_ADMIN.replace(/\/$/, '')}/${name}`;
    const conn = await createConnection({ uri: url, multipleStatements: true, timezone: 'Z' });
    await conn.query(`SET time_zone = '+00:00'`);
    await conn.query(ddl(system));
    return new LegacyMysql(name, url, conn);
  }

  query(sql: string, params: unknown[] = []) {
    return this.conn.query(sql, params);
  }

  async drop(): Promise<void> {
    await this.conn.query(`DROP DATABASE IF EXISTS \`${this.name}\``).catch(() => undefined);
    await this.conn.end().catch(() => undefined);
  }
}

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parse, stringify } from 'yaml';
import { cleanups, ROOT } from './process-tools';

const SHARED_ADMIN = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** `legacy_pg_<base36 ms>_<hex>` made more than an hour ago (a run going on now keeps its younger ones). */
function isStale(name: string): boolean {
  const part = name.split('_')[2] ?? '';
  const created = parseInt(part, 36);
  return /^[0-9a-z]{8}$/.test(part) && created > Date.UTC(2024, 0, 1) && Date.now() - created > 3_600_000;
}

/** Drops the replication slots of a database (terminating the walsenders that hold them), then the database. */
async function dropWithSlots(admin: Client, name: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { rows } = await admin.query<{ slot_name: string; active_pid: number | null }>(
      'SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = $1',
      [name],
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.active_pid !== null) await admin.query('SELECT pg_terminate_backend($1)', [r.active_pid]);
      await admin.query('SELECT pg_drop_replication_slot($1)', [r.slot_name]).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

/**
 * A legacy PostgreSQL database of a test's own, for the direct source (`legacy_pg_<time>_<hex>`),
 * with reference tables from config/legacy/*.sql. `drop` removes its replication slots first: a
 * slot left behind pins WAL on the whole server. Databases (and their slots) of runs that died
 * more than an hour ago are dropped too; at exit, whatever this process created and did not drop.
 */
export class LegacyReplica {
  private readonly atExit: () => void;

  private constructor(
    readonly name: string,
    readonly url: string,
    readonly client: Client,
    private readonly adminUrl: string,
  ) {
    this.atExit = () => {
      // Synchronous at exit: psql, best effort.
      try {
        // Separate commands (DROP DATABASE runs outside a transaction): walsenders ended, their slots dropped, the database dropped.
        const slots = `FROM pg_replication_slots WHERE database = '${name}'`;
        execFileSync(
          'psql',
          [adminUrl, '-q', '-c', `SELECT pg_terminate_backend(active_pid) ${slots} AND active_pid IS NOT NULL`, '-c', 'SELECT pg_sleep(0.5)', '-c', `SELECT pg_drop_replication_slot(slot_name) ${slots}`, '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`],
          { stdio: 'ignore', timeout: 10_000 },
        );
      } catch {
        // the server is gone: nothing pinned any more
      }
    };
    cleanups.add(this.atExit);
  }

  static async create(tables: Array<'crm' | 'portal'>, adminUrl = SHARED_ADMIN): Promise<LegacyReplica> {
    const name = `legacy_pg_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'legacy\\_pg\\_%'`);
      for (const r of rows.filter((x) => isStale(x.datname))) await dropWithSlots(admin, r.datname).catch(() => undefined);
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    for (const t of tables) await client.query(readFileSync(join(ROOT, 'config/legacy', `${t}.sql`), 'utf8'));
    return new LegacyReplica(name, url.toString(), client, adminUrl);
  }

  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = []) {
    return this.client.query<T>(sql, params);
  }

  /** The replication slots on this database, with their positions. */
  async slots(): Promise<Array<{ slot_name: string; confirmed_flush_lsn: string | null; wal_status: string | null; active: boolean }>> {
    return (await this.client.query('SELECT slot_name, confirmed_flush_lsn::text, wal_status, active FROM pg_replication_slots WHERE database = current_database()')).rows;
  }

  async drop(): Promise<void> {
    await this.client.end().catch(() => undefined);
    const admin = new Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      await dropWithSlots(admin, this.name);
    } finally {
      await admin.end();
    }
    cleanups.delete(this.atExit);
  }
}

/**
 * A copy of the configuration directory in which `direct` maps systems to `changes: direct` and
 * the name of the variable holding their connection URL. Returns the directory (CONFIG_DIR).
 */
export function directConfigDir(direct: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'statusview-direct-config-'));
  cpSync(join(ROOT, 'config'), dir, { recursive: true });
  const file = join(dir, 'sources.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as { systems: Record<string, { changes?: string; connection: { urlEnv: string } }> };
  for (const [system, urlEnv] of Object.entries(direct)) {
    doc.systems[system].changes = 'direct';
    doc.systems[system].connection.urlEnv = urlEnv;
  }
  writeFileSync(file, stringify(doc));
  return dir;
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { directConfigDir, emptyTables, ensureBuilt, envVarsOf, gql, LegacyReplica, PrivatePostgres, ServiceProcess, TestApp, testEnv, waitFor } from '@app/testing';

/**
 * The direct PostgreSQL source under faults: the built service killed (SIGKILL) while it streams
 * from the slot and started again, and a slot PostgreSQL invalidated (max_slot_wal_keep_size) on
 * a cluster of the test's own (the shared server is never reconfigured).
 */
const ROOT = join(__dirname, '../../..');
const N = 3000;

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'dist/apps/cli/src/main.js'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}
/** Removes what a test's service cached under its key prefix. */
async function clearRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

const crmStatus = (i: number) => ['ACTIVE', 'DORMANT', 'PROSPECT', 'CLOSED'][i % 4];
const status = (i: number) => ['PENDING', 'INACTIVE', 'PENDING', 'CLOSED'][i % 4];

describe('direct CDC from PostgreSQL under faults', () => {
  it('SIGKILL while streaming: after a restart every change is reflected exactly once', async () => {
    const main = await ensureBuilt();
    const crm = await LegacyReplica.create(['crm']);
    const configDir = directConfigDir({ crm: 'LEGACY_CRM_URL' });
    const env = testEnv({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: `sv_helper_pg_${randomBytes(3).toString('hex')}`, CDC_BATCH_SIZE: '100', LOG_LEVEL: 'info' });
    const vars = { ...envVarsOf(env), LEGACY_CRM_URL: crm.url };
    const db = new Client({ connectionString: env.database.url });
    const running: ServiceProcess[] = [];
    const ids = Array.from({ length: N }, (_, i) => `PGKILL-${String(i).padStart(5, '0')}`);
    const applied = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM source_record WHERE system = 'crm'`)).rows[0].n;
    try {
      await emptyTables(env.database.url);
      await db.connect();
      const first = await ServiceProcess.start(main, vars);
      running.push(first);
      // 60 transactions of 50 rows: the kill lands between and inside batches.
      for (let t = 0; t < N / 50; t++) {
        const rows = Array.from({ length: 50 }, (_, j) => t * 50 + j);
        await crm.query(
          `INSERT INTO crm.customers (id, customer_no, status) SELECT * FROM unnest($1::int[], $2::text[], $3::text[])`,
          [rows, rows.map((i) => ids[i]), rows.map(crmStatus)],
        );
      }
      await waitFor(async () => (await applied()) >= 600, 'streaming to be under way', 30_000);
      first.kill('SIGKILL');
      expect(await first.exited(5000)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await applied()).toBeLessThan(N);

      const lines: string[] = [];
      // A threshold every slot passes: the warning about retained WAL shows in the log.
      const second = await ServiceProcess.start(main, { ...vars, DIRECT_PG_WAL_WARN_BYTES: '1', DIRECT_PG_STATUS_INTERVAL_MS: '200' }, { onLine: (l) => lines.push(l) });
      running.push(second);
      await waitFor(async () => (await applied()) === N, 'every change applied after the restart', 60_000);
      // And a change after the restart, on top: streaming goes on from where it was.
      await crm.query(`UPDATE crm.customers SET status = 'CLOSED' WHERE id = 0`);
      await waitFor(async () => (await gql<{ customer: { status: string } }>(second.url, `{ customer(id: "${ids[0]}") { status } }`)).data?.customer?.status === 'CLOSED', 'the update after the restart');
      for (let k = 0; k < N; k += 1000) {
        const page = ids.slice(k, k + 1000);
        const r = await gql<{ customers: Array<{ id: string; status: string } | null> }>(second.url, 'query($ids: [ID!]!) { customers(ids: $ids) { id status } }', { ids: page });
        expect(r.data!.customers).toEqual(page.map((id, j) => ({ id, status: k + j === 0 ? 'CLOSED' : status(k + j) })));
      }
      // Nothing doubled: one history entry per customer, two for the one updated after the restart.
      const history = await db.query<{ entries: number; customers: number; most: number }>(
        'SELECT sum(n)::int AS entries, count(*)::int AS customers, max(n)::int AS most FROM (SELECT customer_id, count(*) AS n FROM status_history GROUP BY 1) h',
      );
      expect(history.rows[0]).toEqual({ entries: N + 1, customers: N, most: 2 });
      await waitFor(async () => lines.some((l) => l.includes('more than DIRECT_PG_WAL_WARN_BYTES (1)')), 'the retained WAL warning');
      // While the service streams, the CLI refuses to drop its slot (one line, no stack); an unknown system likewise.
      const inUse = await runCli(['direct-slot', 'drop', 'crm'], { ...vars, PATH: process.env.PATH ?? '' });
      expect(inUse.code).toBe(2);
      expect(inUse.stderr.trim()).toMatch(/^statusview: slot \S+_crm is in use by walsender \d+ .*stop that service first, or add --force/);
      expect(inUse.stderr.trim().split('\n')).toHaveLength(1);
      expect(await crm.slots()).toHaveLength(1);
      const unknown = await runCli(['direct-slot', 'drop', 'nosuch'], { ...vars, PATH: process.env.PATH ?? '' });
      expect(unknown).toMatchObject({ code: 2, stderr: 'statusview: no system "nosuch" in sources.yaml (there are: crm, billing, portal)\n' });
      second.kill('SIGTERM');
      expect(await second.exited(15_000)).toEqual({ code: 0, signal: null });
      // Stopped cleanly: the slot's confirmed position is the end of the last transaction, nothing left to read again.
      const { rows } = await crm.query<{ behind: string }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS behind FROM pg_replication_slots WHERE database = current_database()`,
      );
      expect(Number(rows[0].behind)).toBeLessThan(16 * 1024 * 1024);

      // The operator's way out: the CLI drops the system's slot and publication.
      const cli = await runCli(['direct-slot', 'drop', 'crm'], { ...vars, PATH: process.env.PATH ?? '' });
      expect(cli).toMatchObject({ code: 0, stdout: `slot ${env.directPg.slotPrefix}_crm: dropped\npublication ${env.directPg.slotPrefix}_crm: dropped\n` });
      expect(await crm.slots()).toEqual([]);
      expect((await crm.query('SELECT pubname FROM pg_publication')).rows).toEqual([]);
    } finally {
      for (const svc of running) if (svc.running) svc.kill('SIGKILL');
      for (const svc of running) await svc.exited(5000).catch(() => undefined);
      await db.end().catch(() => undefined);
      await crm.drop();
      rmSync(configDir, { recursive: true, force: true });
      await clearRedisPrefix(env.redis.url, env.redis.prefix);
    }
  }, 240_000);

  it('SIGKILL during the first start\'s snapshot load: the next start loads it again, every row once', async () => {
    const main = await ensureBuilt();
    const crm = await LegacyReplica.create(['crm']);
    const rowsN = 20_000;
    await crm.query(`INSERT INTO crm.customers SELECT g, 'SNAP-' || g, null, (ARRAY['ACTIVE','DORMANT','PROSPECT','CLOSED'])[1 + g % 4], now() FROM generate_series(1, ${rowsN}) g`);
    const configDir = directConfigDir({ crm: 'LEGACY_CRM_URL' });
    const env = testEnv({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: `sv_helper_pg_${randomBytes(3).toString('hex')}`, CDC_BATCH_SIZE: '100', LOG_LEVEL: 'info' });
    const vars = { ...envVarsOf(env), LEGACY_CRM_URL: crm.url };
    const db = new Client({ connectionString: env.database.url });
    let svc: ServiceProcess | undefined;
    let pid = 0;
    const applied = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM source_record WHERE system = 'crm'`)).rows[0].n;
    try {
      await emptyTables(env.database.url);
      await db.connect();
      const first = ServiceProcess.start(main, vars, { onSpawn: (p) => (pid = p) }).catch((e: Error) => e);
      await waitFor(async () => (await applied()) >= 1000, 'the snapshot load to be under way', 60_000);
      process.kill(pid, 'SIGKILL');
      expect(await first).toBeInstanceOf(Error);
      expect(await applied()).toBeLessThan(rowsN);
      // The slot of the cut-off load is still there; the publication says its load did not finish.
      expect((await crm.slots()).length).toBe(1);
      expect((await crm.query(`SELECT obj_description(oid, 'pg_publication') AS c FROM pg_publication`)).rows).toEqual([{ c: 'statusview: snapshot loading' }]);

      svc = await ServiceProcess.start(main, vars);
      expect(await applied()).toBe(rowsN);
      expect((await crm.query(`SELECT obj_description(oid, 'pg_publication') AS c FROM pg_publication`)).rows).toEqual([{ c: 'statusview: snapshot loaded' }]);
      await crm.query(`UPDATE crm.customers SET status = 'CLOSED' WHERE id = 1`);
      await waitFor(async () => (await gql<{ customer: { status: string } }>(svc!.url, `{ customer(id: "SNAP-1") { status } }`)).data?.customer?.status === 'CLOSED', 'a change after the load');
      const history = await db.query<{ most: number }>('SELECT max(n)::int AS most FROM (SELECT customer_id, count(*) AS n FROM status_history GROUP BY 1) h');
      expect(history.rows[0].most).toBe(2);
    } finally {
      if (svc?.running) svc.kill('SIGKILL');
      await svc?.exited(5000).catch(() => undefined);
      await db.end().catch(() => undefined);
      await crm.drop();
      rmSync(configDir, { recursive: true, force: true });
      await clearRedisPrefix(env.redis.url, env.redis.prefix);
    }
  }, 240_000);

  it('a slot invalidated by max_slot_wal_keep_size, and a role that may not set up replication: the start fails with the documented error and what to do', async () => {
    const pg = await PrivatePostgres.start({ wal_level: 'logical', max_slot_wal_keep_size: '1MB', max_wal_size: '32MB', min_wal_size: '32MB' });
    const crm = await LegacyReplica.create(['crm'], pg.url('postgres'));
    const configDir = directConfigDir({ crm: 'TEST_INVALIDATED_CRM_URL' });
    process.env.TEST_INVALIDATED_CRM_URL = crm.url;
    const prefix = `sv_helper_pg_${randomBytes(3).toString('hex')}`;
    try {
      // A first start creates the slot; then the service is away while the legacy database writes on.
      const app = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: prefix });
      await app.stop();
      await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (1, 'I-1', 'ACTIVE')`);
      await waitFor(async () => {
        await crm.query(`CREATE TABLE IF NOT EXISTS filler (x text); INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 2000)`);
        await crm.query(`SELECT pg_switch_wal()`);
        await crm.query(`CHECKPOINT`);
        return (await crm.slots())[0]?.wal_status === 'lost';
      }, 'PostgreSQL to invalidate the slot', 60_000);

      const failed = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: prefix }).then(
        async (a) => {
          await a.stop();
          return null;
        },
        (e: Error) => e,
      );
      expect(failed).toMatchObject({ code: 'SLOT_INVALIDATED' });
      expect(failed!.message).toContain(`replication slot "${prefix}_crm" was invalidated`);
      expect(failed!.message).toContain('npm run cli -- direct-slot drop crm');
      expect(failed!.message).toContain('loads the table in its snapshot');

      // The recovery it names: the slot (and publication) dropped, as direct-slot drop does, then a start.
      await crm.query(`SELECT pg_drop_replication_slot($1)`, [`${prefix}_crm`]);
      await crm.query(`DROP PUBLICATION "${prefix}_crm"`);
      const recovered = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: prefix });
      try {
        const seen = await waitFor(async () => {
          const r = await gql<{ customer: { status: string } | null }>(recovered.url, '{ customer(id: "I-1") { status } }', {});
          return r.data?.customer ?? undefined;
        }, 'the row written while the slot was lost, loaded by the new slot\'s snapshot');
        expect(seen.status).toBe('PENDING');
      } finally {
        await recovered.stop();
      }

      // A role that may read the table but not set up replication: the start says the SQL to run.
      await crm.query(`CREATE ROLE reader LOGIN; GRANT USAGE ON SCHEMA crm TO reader; GRANT SELECT ON crm.customers TO reader`);
      const asReader = new URL(crm.url);
      asReader.username = 'reader';
      process.env.TEST_INVALIDATED_CRM_URL = asReader.toString();
      const refused = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: `${prefix}_other` }).then(
        async (a) => {
          await a.stop();
          return null;
        },
        (e: Error) => e,
      );
      expect(refused).toMatchObject({ code: 'SETUP_REQUIRED' });
      expect(refused!.message).toContain(`run as a superuser on the legacy database: CREATE PUBLICATION "${prefix}_other_crm" FOR TABLE "crm"."customers";`);
      expect(refused!.message).toContain(`SELECT pg_create_logical_replication_slot('${prefix}_other_crm', 'pgoutput');`);
    } finally {
      delete process.env.TEST_INVALIDATED_CRM_URL;
      await crm.drop().catch(() => undefined);
      await pg.dispose();
      rmSync(configDir, { recursive: true, force: true });
    }
  }, 180_000);
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { RunningApp, startApp } from '@app/bootstrap';
import { binlogReaders } from '@app/cdc';
import { openDatabase, SourceCheckpointStore } from '@app/projection';
import { gql, LegacyMysqlDatabase, TestApp, testEnv, waitFor } from '@app/testing';

const CLI = join(__dirname, '../../../dist/apps/cli/src/main.js');

/**
 * The way out of BINLOG_PURGED (the checkpoint's binlog file is gone from the server): `cli
 * direct-checkpoint reset billing` makes the next start load the table in a consistent snapshot
 * and stream from there: what the lost binlog held (inserts and deletes) is in the view, and so
 * is what is written after.
 */
describe('direct-checkpoint reset', () => {
  let legacy: LegacyMysqlDatabase;
  let env: Record<string, string>;
  let running: RunningApp | undefined;
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    legacy = await LegacyMysqlDatabase.create();
    process.env.LEGACY_BILLING_URL = legacy.url;
    // A first start records the checkpoint; a row is streamed; then the service stops.
    const first = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' });
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES (3, 'PG-3', 0, 100, '2024-05-01 10:00:00')`);
    await waitFor(async () => ((await gql<{ customer: { status: string } | null }>(first.url, '{ customer(id: "PG-3") { status } }', {})).data?.customer ? true : undefined), 'the streamed row');
    env = { DATABASE_URL: first.env.database.url, REDIS_URL: first.env.redis.url, REDIS_PREFIX: first.env.redis.prefix, CDC_DIRECT_SYSTEMS: 'billing', LEGACY_BILLING_URL: legacy.url };
    await first.stop();
  });
  afterAll(async () => {
    await running?.close();
    await legacy?.drop();
    delete process.env.LEGACY_BILLING_URL;
  });

  it('refuses while a service streams the system: its checkpoint would be written over the reset', async () => {
    const live = await startApp({ api: false, ingest: true }, { env: testEnv({ CDC_DIRECT_SYSTEMS: 'billing', REDIS_PREFIX: env.REDIS_PREFIX }), logger: false });
    try {
      const r = await cli('direct-checkpoint', 'reset', 'billing');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^statusview: the binlog is being read with this user now \(thread \d+ from .*Stop the service that reads billing first, or add --force/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await live.close();
    }
    await waitFor(async () => ((await binlogReaders(legacy.url)).length === 0 ? true : undefined), 'the stopped service\'s binlog dump gone');
  }, 30_000);

  it('after a purged checkpoint, makes the next start load the table in a snapshot: nothing the lost binlog held is missed, nothing after it either', async () => {
    // The checkpoint's file is gone from the server, as after PURGE BINARY LOGS.
    const db = await openDatabase(env.DATABASE_URL, 1);
    const store = new SourceCheckpointStore(db);
    const stored = await store.last('billing');
    expect(stored?.position.kind).toBe('binlog');
    await store.replace({ source: 'billing', position: { kind: 'binlog', key: '000000000000:00000000000000000004:00000000', text: 'mysql-bin.000000:4:0', tsMs: null }, gtid: null });
    const start = () => startApp({ api: true, ingest: true }, { env: testEnv({ CDC_DIRECT_SYSTEMS: 'billing', REDIS_PREFIX: env.REDIS_PREFIX }), logger: false });
    await expect(start()).rejects.toThrow(/checkpoint .*mysql-bin\.000000.* no longer has.*direct-checkpoint reset billing/);

    // Written while the source was down: the binlog that held them is what was lost.
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES (1, 'PG-1', 0, 100, '2024-05-01 10:00:00')`);
    await legacy.query(`DELETE FROM accounts WHERE account_id = 3`);
    const reset = await cli('direct-checkpoint', 'reset', 'billing');
    expect(reset.stderr).toBe('');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/checkpoint of billing: mysql-bin\.000000:4:0 → snapshot loading \(asked by direct-checkpoint reset\)\nnext: start the service: it loads accounts in a consistent snapshot/);
    await db.destroy();

    // Written between the reset and the start: in the snapshot or in the stream after it.
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES (2, 'PG-2', 9, 0, '2024-05-01 10:00:00')`);
    running = await start();
    const status = async (id: string) => (await gql<{ customer: { status: string } | null }>(running!.url, 'query($id: ID!) { customer(id: $id) { status } }', { id })).data?.customer?.status ?? null;
    await legacy.query(`UPDATE accounts SET state = 1 WHERE account_id = 1`);
    await waitFor(async () => (await status('PG-1')) === 'AT_RISK' && (await status('PG-2')) !== null, 'the rows before and after the reset, and a change after the start', 15_000);
    expect(await status('PG-3')).toBeNull();
    // Streaming from the snapshot's position on: its checkpoint is a binlog position again.
    const after = await openDatabase(env.DATABASE_URL, 1);
    expect((await new SourceCheckpointStore(after).last('billing'))?.position.kind).toBe('binlog');
    await after.destroy();
  }, 60_000);
});

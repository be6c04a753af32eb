import { BackfillSummary } from '@app/backfill';
import { TestApp, waitFor } from '@app/testing';
import { cliEnv, ensureBuilt, exited, runCli, spawnCli } from './cli-runner';
import { LegacyPostgres } from './legacy-databases';

/** The built CLI as a child process: kill -9 and Ctrl-C in the middle, --resume, exit codes, bad input. */
describe('backfill CLI', () => {
  let app: TestApp;
  let crm: LegacyPostgres;
  let empty: LegacyPostgres;
  let env: Record<string, string>;
  const ROWS = 6000;

  beforeAll(async () => {
    ensureBuilt();
    // No relay in the test's service either: the status changes the CLI commits stay in the outbox, countable.
    [app, crm, empty] = await Promise.all([TestApp.start({ OUTBOX_RELAY: 'false' }), LegacyPostgres.create('crm'), LegacyPostgres.create('portal')]);
    await app.db.query('TRUNCATE backfill_checkpoint, reconcile_report');
    await crm.query(
      `INSERT INTO crm.customers SELECT g, 'Q-' || lpad(g::text, 6, '0'), null, (ARRAY['PROSPECT','ACTIVE','DORMANT','CLOSED'])[1 + g % 4], now()
       FROM generate_series(1, ${ROWS}) g`,
    );
    // A database without the portal table, for the "missing table" case.
    await empty.query('DROP TABLE portal.users');
    env = cliEnv(app.env, { LEGACY_CRM_URL: crm.url, LEGACY_PORTAL_URL: empty.url });
  }, 300_000);

  afterAll(async () => {
    await Promise.all([app?.stop(), crm?.drop(), empty?.drop()]);
  });

  const checkpoint = async () =>
    ((await app.db.query(`SELECT last_key, rows_read::int AS rows, finished_at, start_position FROM backfill_checkpoint WHERE system = 'crm'`)) as Array<{
      last_key: string[] | null;
      rows: number;
      finished_at: Date | null;
      start_position: string;
    }>)[0];

  it('survives kill -9 in the middle: --resume goes on from the last committed batch and projects every row exactly once', async () => {
    const child = spawnCli(['backfill', '--system', 'crm', '--batch-size', '200', '--rate', '2000'], env);
    await waitFor(async () => ((await checkpoint())?.rows ?? 0) >= 1000, 'a few committed batches', 20_000);
    child.kill('SIGKILL');
    const killed = await exited(child);
    expect(killed.signal).toBe('SIGKILL');
    const mid = await checkpoint();
    expect(mid.finished_at).toBeNull();
    expect(mid.rows).toBeGreaterThanOrEqual(1000);
    expect(mid.rows).toBeLessThan(ROWS);
    expect(mid.last_key).toEqual([String(mid.rows)]);

    const resumed = await runCli(['backfill', '--system', 'crm', '--resume', '--format', 'json'], env);
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout) as BackfillSummary;
    expect(summary).toMatchObject({ rowsRead: ROWS, resumedFrom: [String(mid.rows)], startPosition: mid.start_position, interrupted: false });
    const done = await checkpoint();
    expect(done).toMatchObject({ rows: ROWS, last_key: [String(ROWS)], start_position: mid.start_position });
    expect(done.finished_at).not.toBeNull();

    // Exactly once: one record and one customer per row, each customer written once, one history
    // entry and one status message each.
    const [r] = await app.db.query(`
      SELECT (SELECT count(*)::int FROM source_record WHERE system = 'crm') AS records,
             (SELECT count(*)::int FROM customer WHERE id LIKE 'Q-%') AS customers,
             (SELECT max(version)::int FROM customer WHERE id LIKE 'Q-%') AS max_version,
             (SELECT count(*)::int FROM status_history WHERE customer_id LIKE 'Q-%') AS history,
             (SELECT count(DISTINCT customer_id)::int FROM status_outbox WHERE customer_id LIKE 'Q-%') AS messages,
             (SELECT count(*)::int FROM status_outbox) AS outbox`);
    expect(r).toEqual({ records: ROWS, customers: ROWS, max_version: 1, history: ROWS, messages: ROWS, outbox: ROWS });
    // The CLI leaves them to the service's relay, and says so.
    expect(resumed.stderr).toContain(`${ROWS} status changes wait in the outbox: the service's relay publishes them`);

    const again = await runCli(['backfill', '--system', 'crm', '--format', 'json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ rowsRead: ROWS, recordsChanged: 0, unchanged: ROWS });
  }, 90_000);

  it('stops cleanly on Ctrl-C after the batch in flight (exit 130), and --resume finishes', async () => {
    await app.db.query(`TRUNCATE backfill_checkpoint`);
    const child = spawnCli(['backfill', '--system', 'crm', '--batch-size', '500', '--rate', '3000', '--progress-every', '0.2'], env);
    await waitFor(async () => ((await checkpoint())?.rows ?? 0) >= 1000, 'a few committed batches', 20_000);
    child.kill('SIGINT');
    const stopped = await exited(child);
    expect(stopped.code).toBe(130);
    expect(stopped.stdout).toContain('interrupted: run again with --resume');
    // Not a terminal: progress as log lines, with rows, rate and ETA.
    expect(stopped.stderr).toMatch(/backfill crm: \d+\/\d+ rows \(\d+%\), \d+ rows\/s, ETA/);
    const mid = await checkpoint();
    expect(mid.finished_at).toBeNull();
    const resumed = await runCli(['backfill', '--system', 'crm', '--resume'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`rows read\\s+${ROWS}`));
    expect((await checkpoint()).finished_at).not.toBeNull();
  }, 60_000);

  it.each<[string, string[], Record<string, string>, RegExp]>([
    ['an unknown system', ['backfill', '--system', 'nope'], {}, /unknown system "nope"; the sources configuration has: crm, billing, portal/],
    ['no system named', ['backfill'], {}, /name a system with --system NAME, or use --all/],
    ['a missing URL variable', ['backfill', '--system', 'billing'], {}, /billing: set LEGACY_BILLING_URL to a read-only mysql URL/],
    [
      'an unreachable legacy database',
      ['reconcile', '--system', 'crm'],
      { LEGACY_CRM_URL: 'postgres://postgres:secret@127.0.0.1:1/crm' },
      /crm: PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/crm \(LEGACY_CRM_URL\) is unreachable: .*ECONNREFUSED/,
    ],
    [
      'an unreachable MySQL',
      ['backfill', '--system', 'billing'],
      { LEGACY_BILLING_URL: 'mysql://root@127.0.0.1:1/billing' },
      /billing: MySQL at mysql:\/\/root@127\.0\.0\.1:1\/billing \(LEGACY_BILLING_URL\) is unreachable/,
    ],
    ['a missing table', ['backfill', '--system', 'portal'], {}, /portal: table portal\.users does not exist in PostgreSQL database legacy_portal_\w+ \(LEGACY_PORTAL_URL\)/],
    ['an unreachable statusview database', ['backfill', '--system', 'crm'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/statusview' }, /PostgreSQL at .* is unreachable/],
  ])('reports %s in one line on stderr and exits 2', async (_name, args, extra, message) => {
    const r = await runCli(args, { ...env, ...extra });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a bad option value before connecting anywhere (exit 2)', async () => {
    const r = await runCli(['backfill', '--system', 'crm', '--rate', 'fast'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rate must be a positive number, got "fast"');
  });

  it('answers --help on every command with every server down', async () => {
    for (const command of ['backfill', 'reconcile', 'migrate']) {
      const r = await runCli([command, '--help'], { PATH: env.PATH, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1' });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: statusview ${command}`);
    }
  });

  it('migrates the statusview database', async () => {
    const r = await runCli(['migrate'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('BackfillAndReconcile1732700000000');
  });
});

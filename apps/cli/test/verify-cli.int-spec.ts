import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BILLING, CRM, gql, TestApp, waitFor } from '@app/testing';

/**
 * `verify` through the built CLI: the projection checked against itself. The projection is
 * damaged the ways a writer bug would damage it (a phantom customer, a stale status, a record
 * whose mapping is out of date, a record without a customer row, a wrong cache entry); verify
 * must name each, `--repair` must mend them through the projection path, and the service's
 * /metrics must show what the last run found.
 */
const CLI = join(__dirname, '../../../dist/apps/cli/src/main.js');

interface Report {
  agreed: boolean;
  customers: number;
  counts: Record<string, number>;
  repaired: Record<string, number> | null;
  first: Array<{ kind: string; customerId: string; detail: string }>;
}

describe('verify CLI', () => {
  let app: TestApp;
  let env: Record<string, string>;
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const verify = async (...args: string[]) => {
    const r = await cli('verify', '--format', 'json', ...args);
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  };
  const customer = async (id: string) =>
    (await gql<{ customer: { status: string; reason: string } | null }>(app.url, `query($id: ID!) { customer(id: $id) { status reason } }`, { id })).data!
      .customer;

  beforeAll(async () => {
    app = await TestApp.start();
    env = { DATABASE_URL: app.env.database.url, REDIS_URL: app.env.redis.url, REDIS_PREFIX: app.env.redis.prefix, OUTBOX_RELAY: 'false' };
    for (let i = 1; i <= 6; i++) await app.event(CRM, 'c', null, { id: i, customer_no: `V-${i}`, email: null, status: 'DORMANT', updated_at: 1 });
    await app.event(BILLING, 'c', null, { account_id: 1, cust_ref: 'V-1', state: 1, balance_cents: 0, modified: 1 });
    await waitFor(async () => (await customer('V-1'))?.status === 'AT_RISK', 'the events applied');
    await waitFor(async () => (await customer('V-6'))?.status === 'INACTIVE', 'the events applied');
    // Every customer read once, so that Redis holds each view.
    for (let i = 1; i <= 6; i++) await customer(`V-${i}`);
  });

  afterAll(async () => {
    await app.stop();
  });

  it('agrees on a projection written by the service, and exits 0', async () => {
    const { code, report } = await verify('--cache');
    expect(report.counts).toEqual({ status: 0, mapping: 0, liveness: 0, orphan: 0, cache: 0 });
    expect(report.customers).toBe(6);
    expect(report.agreed).toBe(true);
    expect(code).toBe(0);
  });

  it('names every kind of damage, exits 1, shows it in /metrics, and --repair mends it', async () => {
    // A phantom: its only record is gone, the customer row still says live.
    await app.db.query(`UPDATE source_record SET deleted = true WHERE system = 'crm' AND record_key = '2'`);
    // A stale status: the stored decision is not what its records give.
    await app.db.query(`UPDATE customer SET status = 'ACTIVE', reason = 'active' WHERE id = 'V-3'`);
    // A record stored with a mapping the active rules do not give it.
    await app.db.query(`UPDATE source_record SET status = 'CLOSED', rule = 'made-up' WHERE system = 'crm' AND record_key = '4'`);
    // A live record whose customer row is missing.
    await app.db.query(`DELETE FROM customer WHERE id = 'V-5'`);
    // A cache entry that is not what PostgreSQL holds at the same version.
    const key = `${app.env.redis.prefix}customer:V-6`;
    const cached = (await app.redis.get(key))!;
    // The customer's status comes first in the entry's body (see ViewCodec).
    await app.redis.set(key, cached.replace('"INACTIVE"', '"ACTIVE"'));

    const found = await verify('--cache');
    expect(found.code).toBe(1);
    expect(found.report.agreed).toBe(false);
    expect(found.report.counts).toEqual({ status: 1, mapping: 1, liveness: 1, orphan: 1, cache: 1 });
    expect(found.report.first.map((d) => [d.kind, d.customerId]).sort()).toEqual([
      ['cache', 'V-6'],
      ['liveness', 'V-2'],
      ['mapping', 'V-4'],
      ['orphan', 'V-5'],
      ['status', 'V-3'],
    ]);

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/statusview_verify_differences\{kind="liveness"\} 1/);
    expect(metrics).toMatch(/statusview_verify_last_run_timestamp_seconds \d/);

    // Without --cache, the text report leaves the cache out and says what differs.
    const text = await cli('verify');
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/verify: the projection disagrees with itself/);
    expect(text.stdout).toMatch(/liveness +1/);
    expect(text.stdout).not.toMatch(/^ {2}cache/m);

    const repaired = await verify('--cache', '--repair');
    expect(repaired.report.repaired).toEqual({ status: 1, mapping: 1, liveness: 1, orphan: 1, cache: 1 });
    expect(repaired.report.agreed).toBe(true);
    expect(repaired.code).toBe(0);

    const after = await verify('--cache');
    expect(after.report.counts).toEqual({ status: 0, mapping: 0, liveness: 0, orphan: 0, cache: 0 });
    expect(await customer('V-2')).toBeNull();
    expect(await customer('V-3')).toEqual({ status: 'INACTIVE', reason: 'inactive' });
    expect(await customer('V-5')).toEqual({ status: 'INACTIVE', reason: 'inactive' });
    expect(await customer('V-6')).toEqual({ status: 'INACTIVE', reason: 'inactive' });
    const metricsAfter = await (await fetch(`${app.url}/metrics`)).text();
    expect(metricsAfter).toMatch(/statusview_verify_differences\{kind="liveness"\} 0/);
  });

  it('refuses a bad option with exit 2', async () => {
    const r = await cli('verify', '--limit', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--limit must be a positive integer/);
  });
});

import { INestApplicationContext } from '@nestjs/common';
import { register } from 'prom-client';
import { BackfillUseCase, createBackfillContext, ReconcileReport, ReconcileReportStore, ReconcileUseCase } from '@app/backfill';
import { ReconcileReport as ReconcileReportGql } from '@app/graphql-api';
import { loadDomainConfig } from '@app/config';
import { gql, TestApp } from '@app/testing';
import { cliEnv, ensureBuilt, runCli } from './cli-runner';
import { LegacyMysql, LegacyPostgres } from './legacy-databases';

/** Reconcile finds every kind of difference on both dialects, and --repair fixes them through the projection path. */
describe('reconcile', () => {
  let app: TestApp;
  let crm: LegacyPostgres;
  let portal: LegacyPostgres;
  let billing: LegacyMysql;
  let ctx: INestApplicationContext;
  let backfill: BackfillUseCase;
  let reconcile: ReconcileUseCase;
  let env: Record<string, string>;
  const domain = loadDomainConfig('config');

  beforeAll(async () => {
    ensureBuilt();
    [app, crm, portal, billing] = await Promise.all([TestApp.start(), LegacyPostgres.create('crm'), LegacyPostgres.create('portal'), LegacyMysql.create('billing')]);
    await app.db.query('TRUNCATE backfill_checkpoint, reconcile_report');
    const legacy = { LEGACY_CRM_URL: crm.url, LEGACY_PORTAL_URL: portal.url, LEGACY_BILLING_URL: billing.url };
    env = cliEnv(app.env, legacy);
    ctx = await createBackfillContext({ env: app.env, domain, connections: app.running.connections, legacyEnv: legacy });
    backfill = ctx.get(BackfillUseCase);
    reconcile = ctx.get(ReconcileUseCase);
  }, 300_000);

  afterAll(async () => {
    await ctx?.close();
    await Promise.all([app?.stop(), crm?.drop(), portal?.drop(), billing?.drop()]);
  });

  const counts = (r: ReconcileReport) => r.counts;
  const status = async (id: string) =>
    (await gql<{ customer: { status: string } | null }>(app.url, `query($id: ID!) { customer(id: $id) { status } }`, { id })).data?.customer?.status ?? null;

  it('agrees right after a backfill, with integer keys whose text order is not their numeric order', async () => {
    // 1..120 sorts 1, 10, 100, 101, … as text: the merge must compare them as numbers on both sides.
    await crm.query(`INSERT INTO crm.customers SELECT g, 'K-' || g, null, 'ACTIVE', now() FROM generate_series(1, 120) g`);
    await backfill.execute({ system: 'crm', batchSize: 7 });
    const report = await reconcile.execute({ system: 'crm', batchSize: 7 });
    expect(report).toMatchObject({ agreed: true, legacyRows: 120, viewRecords: 120 });
    expect(counts(report)).toEqual({ missing: 0, gone: 0, differs: 0, unmappable: 0, inFlight: 0 });
    expect(report.position).toMatch(/^lsn:\d+$/);
  });

  it('orders uuid keys alike on both sides (PostgreSQL uuid order and the view record keys)', async () => {
    await portal.query(
      `INSERT INTO portal.users SELECT gen_random_uuid(), 'U-' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 day',
         CASE WHEN g % 2 = 0 THEN timestamptz '2024-06-01 12:00:00.5+02' END, g % 7 = 0 FROM generate_series(1, 60) g`,
    );
    await backfill.execute({ system: 'portal', batchSize: 8 });
    expect(await reconcile.execute({ system: 'portal', batchSize: 8 })).toMatchObject({ agreed: true, legacyRows: 60, viewRecords: 60 });
    await portal.query(`DELETE FROM portal.users WHERE customer_no = 'U-5'`);
    await portal.query(`INSERT INTO portal.users VALUES ('00000000-0000-4000-8000-000000000001', 'U-NEW', now(), null, false)`);
    const report = await reconcile.execute({ system: 'portal', batchSize: 8 });
    expect(counts(report)).toMatchObject({ missing: 1, gone: 1, differs: 0 });
    expect(report.differences.map((d) => [d.kind, d.customerId])).toEqual(
      expect.arrayContaining([
        ['missing', 'U-NEW'],
        ['gone', 'U-5'],
      ]),
    );
  });

  it('finds records missing from the view, gone from the legacy table and mapped differently, and counts unmappable rows', async () => {
    await billing.query(
      `INSERT INTO accounts (account_id, cust_ref, state, balance_cents) SELECT seq, CONCAT('k-', seq), seq % 3, seq FROM seq_1_to_50`,
    );
    await backfill.execute({ system: 'billing', batchSize: 10 });
    expect(await reconcile.execute({ system: 'billing' })).toMatchObject({ agreed: true });

    await billing.query(`UPDATE accounts SET state = 9 WHERE account_id = 5`); // differs: status
    await billing.query(`UPDATE accounts SET cust_ref = 'k-999' WHERE account_id = 11`); // differs: customer
    await billing.query(`DELETE FROM accounts WHERE account_id = 7`); // gone
    await billing.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (60, 'k-60', 1), (70, '  ', 0)`); // missing; unmappable
    await billing.query(`UPDATE accounts SET balance_cents = 123456 WHERE account_id = 8`); // not a mapped field: no difference
    await app.db.query(`UPDATE source_record SET deleted = true WHERE system = 'billing' AND record_key = '9'`); // missing (deleted in the view)
    // The view holds a change newer than any start: whatever the legacy row says, it is in flight.
    await billing.query(`UPDATE accounts SET state = 2 WHERE account_id = 12`);
    await app.db.query(
      `UPDATE source_record SET position_kind = 'binlog', position_key = 'x', source_ts = now() + interval '1 hour' WHERE system = 'billing' AND record_key = '12'`,
    );

    const report = await reconcile.execute({ system: 'billing', batchSize: 10, limit: 3 });
    expect(counts(report)).toEqual({ missing: 2, gone: 1, differs: 2, unmappable: 1, inFlight: 1 });
    expect(report).toMatchObject({ agreed: false, legacyRows: 51, repaired: null });
    // Listed in key order, cut at --limit; every difference is still counted.
    expect(report.differences.map((d) => [d.kind, d.recordKey])).toEqual([
      ['differs', '5'],
      ['gone', '7'],
      ['missing', '9'],
    ]);
    expect(report.differences[0]).toMatchObject({ legacy: { status: 'CLOSED', rule: 'billing-written-off' }, view: { status: 'SUSPENDED' } });
    expect(report.differences[0].detail).toContain('status SUSPENDED → CLOSED');
    expect(report.unmappableSamples).toEqual([{ recordKey: '70', reason: expect.stringContaining('customer key') }]);

    // Kept for GraphQL, and as a metric.
    const stored = await ctx.get(ReconcileReportStore).last('billing');
    expect(stored).toEqual(report);
    const fields = 'system agreed missing gone differs unmappable inFlight repaired differences { kind recordKey legacyStatus viewStatus }';
    const { data } = await gql<{ lastReconcileReport: Required<ReconcileReportGql> | null }>(app.url, `{ lastReconcileReport(system: "billing") { ${fields} } }`);
    const gqlReport = data?.lastReconcileReport;
    expect(gqlReport).toMatchObject({ system: 'billing', agreed: false, missing: 2, gone: 1, differs: 2, unmappable: 1, inFlight: 1, repaired: null });
    expect(gqlReport?.differences[0]).toMatchObject({ kind: 'differs', recordKey: '5', legacyStatus: 'CLOSED', viewStatus: 'SUSPENDED' });
    const metric = await register.getSingleMetricAsString('statusview_reconcile_drift');
    expect(metric).toContain('statusview_reconcile_drift{system="billing",kind="missing"} 2');
    expect(metric).toContain('statusview_reconcile_drift{system="billing",kind="gone"} 1');
    expect(metric).toContain('statusview_reconcile_drift{system="billing",kind="differs"} 2');
  });

  it('exits 1 with a JSON report when they differ, repairs through the projection path, then exits 0', async () => {
    const found = await runCli(['reconcile', '--system', 'billing', '--format', 'json'], env);
    expect(found.code).toBe(1);
    expect((JSON.parse(found.stdout) as ReconcileReport).counts).toEqual({ missing: 2, gone: 1, differs: 2, unmappable: 1, inFlight: 1 });

    expect(await status('K-5')).not.toBe('CLOSED');
    const repaired = await runCli(['reconcile', '--system', 'billing', '--repair'], env);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain('the view agrees with the legacy table');
    expect(repaired.stdout).toMatch(/missing\s+2 \(repaired 2\)/);

    expect(await status('K-5')).toBe('CLOSED');
    expect(await status('K-999')).toBe('SUSPENDED'); // account 11 moved to another customer
    const [moved] = await app.db.query(`SELECT customer_id FROM source_record WHERE system = 'billing' AND record_key = '11'`);
    expect(moved.customer_id).toBe('K-999');
    expect(await status('K-7')).toBe('PENDING'); // its billing record deleted: crm ACTIVE and no billing
    expect(await status('K-60')).toBe('AT_RISK');
    expect(await status('K-9')).not.toBeNull();

    const again = await runCli(['reconcile', '--system', 'billing'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/missing\s+0/);
    expect((await ctx.get(ReconcileReportStore).last(null))?.agreed).toBe(true);
  }, 60_000);

  it('checks every connected system with --all, and exits 1 if any differs', async () => {
    const r = await runCli(['reconcile', '--all', '--format', 'json'], env);
    const reports = JSON.parse(r.stdout) as ReconcileReport[];
    expect(reports.map((x) => [x.system, x.agreed])).toEqual([
      ['crm', true],
      ['billing', true],
      ['portal', false],
    ]);
    expect(r.code).toBe(1);
  }, 60_000);
});

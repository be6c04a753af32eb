import { ReconcileReport, ReconcileReportStore } from '@app/backfill';
import { CdcConsumerService } from '@app/ingest';
import { CRM, gql, TestApp, waitFor } from '@app/testing';

/** What an operator scrapes and probes: Prometheus metrics at /metrics, liveness and readiness. */
describe('metrics and health', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterAll(() => app.stop());

  const scrape = async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  /** The value of one sample line, e.g. `name{label="x"}`. */
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('shows events consumed, dead letters, batch commit time, cache hit ratio, GraphQL durations, outbox backlog and unmapped values', async () => {
    await app.event(CRM, 'c', null, { id: 1, customer_no: 'M-1', email: null, status: 'ACTIVE', updated_at: 1 });
    await app.event(CRM, 'c', null, { id: 2, customer_no: 'M-2', email: null, status: 'LEAD', updated_at: 1 }); // no rule maps LEAD
    await app.publish(CRM.topic, 'this is not JSON');
    const customer = () => gql<{ customer: { status: string } | null }>(app.url, 'query Probe { customer(id: "M-1") { status } }');
    await waitFor(async () => (await customer()).data?.customer?.status === 'PENDING', 'the events applied');
    await waitFor(async () => (await app.drainDeadLetters()).length === 1, 'the bad message dead-lettered');
    await customer(); // answered from Redis

    const text = await scrape();
    expect(sample(text, 'statusview_events_consumed_total{system="crm",op="c"}')).toBe(2);
    expect(sample(text, 'statusview_messages_dead_lettered_total{code="NOT_JSON"}')).toBe(1);
    expect(sample(text, 'statusview_batch_commit_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'statusview_batch_commit_seconds_sum')).toBeGreaterThan(0);
    const ratio = sample(text, 'statusview_cache_hit_ratio');
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
    expect(sample(text, 'statusview_graphql_request_duration_seconds_count{operation="Probe"}')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'statusview_outbox_backlog')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'statusview_unmapped_values{system="crm",field="status"}')).toBe(1);
  });

  it('shows the drift of the last reconcile of each system, between runs of the command (read from the stored reports)', async () => {
    const report = (system: string, finishedAt: string, counts: Partial<ReconcileReport['counts']>, repaired: ReconcileReport['repaired']): ReconcileReport => ({
      system,
      source: `${system} legacy table`,
      startedAt: finishedAt,
      finishedAt,
      position: 'ts_ms:1',
      legacyRows: 10,
      viewRecords: 10,
      counts: { missing: 0, gone: 0, differs: 0, unmappable: 0, inFlight: 0, ...counts },
      repaired,
      agreed: false,
      differences: [],
      unmappableSamples: [],
      interrupted: false,
      durationMs: 5,
    });
    const reports = app.running.app.get(ReconcileReportStore);
    await reports.save(report('billing', '2026-01-01T00:00:00Z', { missing: 7 }, null));
    // The newer billing run found 3 missing and 2 differing records and repaired 2 of the missing ones.
    await reports.save(report('billing', '2026-01-02T00:00:00Z', { missing: 3, differs: 2, unmappable: 1 }, { missing: 2, gone: 0, differs: 0 }));
    await reports.save(report('crm', '2026-01-02T00:00:00Z', { gone: 4 }, null));

    const text = await scrape();
    expect(sample(text, 'statusview_reconcile_drift{system="billing",kind="missing"}')).toBe(1);
    expect(sample(text, 'statusview_reconcile_drift{system="billing",kind="differs"}')).toBe(2);
    expect(sample(text, 'statusview_reconcile_drift{system="billing",kind="gone"}')).toBe(0);
    expect(sample(text, 'statusview_reconcile_drift{system="billing",kind="unmappable"}')).toBe(1);
    expect(sample(text, 'statusview_reconcile_drift{system="crm",kind="gone"}')).toBe(4);
  });

  it('answers /health/live and /health/ready with 200, and /health/ready with 503 once the consumer is stopped', async () => {
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' }, consumer: { status: 'up' } } });

    await app.running.app.get(CdcConsumerService).consumer!.stop();
    const stopped = await fetch(`${app.url}/health/ready`);
    expect(stopped.status).toBe(503);
    expect(await stopped.json()).toMatchObject({ status: 'error', error: { consumer: { status: 'down' } } });
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
  });
});

import { ReprojectionService } from '@app/projection';
import { CRM, gql, TestApp, waitFor } from '@app/testing';

/**
 * A background job (rule set sync, reprojection) has no caller to tell when it fails: its
 * failures must be logged, counted in /metrics and visible in /health, never swallowed.
 */
describe('background job failures', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterAll(() => app.stop());

  const health = async () => (await (await fetch(`${app.url}/health`)).json()) as { details: { background: { jobs: Record<string, { failures: number; lastError: string }> } } };
  const metric = async (job: string) => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const m = new RegExp(`statusview_background_failures_total\\{job="${job}"\\} (\\d+)`).exec(text);
    return m ? Number(m[1]) : 0;
  };

  it('shows a rule set version the sync cannot activate in /health and /metrics', async () => {
    const before = await metric('rule-set-sync');
    // What another instance would announce after a publish, for a version this database does not have.
    await app.redis.publish(`${app.env.redis.prefix}rules:activated`, JSON.stringify({ version: 999 }));
    await waitFor(async () => (await metric('rule-set-sync')) > before, 'the failure counted');
    const jobs = (await health()).details.background.jobs;
    expect(jobs['rule-set-sync'].lastError).toMatch(/cannot activate rule set version 999: rule set version 999 does not exist/);
    // The instance still serves: the failure is shown, not made an outage.
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
  });

  it('shows a reprojection that fails in /health and /metrics, and marks the job failed', async () => {
    await app.event(CRM, 'c', null, { id: 1, customer_no: 'BG-1', email: null, status: 'ACTIVE', updated_at: 1 });
    await waitFor(async () => (await gql<{ customer: unknown }>(app.url, '{ customer(id: "BG-1") { status } }')).data?.customer, 'the customer');
    const before = await metric('reprojection');
    // The job's progress cannot be written any more (what a full disk or a bad migration would do).
    await app.db.query(`CREATE FUNCTION bg_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.state = 'running' AND NEW.processed > 0 THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await app.db.query(`CREATE TRIGGER bg_refuse BEFORE UPDATE ON reprojection FOR EACH ROW EXECUTE FUNCTION bg_refuse()`);
    try {
      const reprojection = app.running.app.get(ReprojectionService);
      await app.db.query(`INSERT INTO rule_set_version (version, state, document, checksum, created_by) SELECT 2, 'published', document, checksum, 'test' FROM rule_set_version WHERE version = 1`);
      await app.db.query(`UPDATE active_rule_set SET version = 2`);
      const started = await reprojection.start(2);
      await reprojection.wait(started.id);
      expect((await reprojection.progress(started.id))?.state).toBe('failed');
      expect(await metric('reprojection')).toBeGreaterThan(before);
      expect((await health()).details.background.jobs.reprojection.lastError).toMatch(/refused by the test/);
    } finally {
      await app.db.query('DROP TRIGGER bg_refuse ON reprojection');
      await app.db.query('DROP FUNCTION bg_refuse()');
    }
  });
});

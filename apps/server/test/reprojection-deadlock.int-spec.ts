import { Client } from 'pg';
import { stringify } from 'yaml';
import { ApiTokenService } from '@app/access';
import { BILLING, CRM, gql, overdueSuspends, TestApp, waitFor } from '@app/testing';

/**
 * A reprojection and a live batch at once, in the order that deadlocks: the live batch holds a
 * record it upserted and then wants the customer's lock, while the reprojection holds the
 * customer's lock and maps that record again. PostgreSQL ends one of them; the reprojection's
 * batch is tried again instead of failing the whole job.
 */
describe('reprojection beside a live batch', () => {
  let app: TestApp;
  let analyst: Record<string, string>;
  let session: Client;

  beforeAll(async () => {
    app = await TestApp.start({ ALLOW_ANONYMOUS_READS: 'false' });
    analyst = { authorization: `Bearer ${(await app.running.app.get(ApiTokenService).create('ana', 'analyst', 'test')).token}` };
    session = new Client({ connectionString: app.env.database.url });
    await session.connect();
  });
  afterAll(async () => {
    await session.end().catch(() => undefined);
    await app.stop();
  });

  const reprojection = async (id: string) =>
    (await gql<{ reprojection: { state: string; error: string | null } }>(app.url, 'query($id: ID) { reprojection(id: $id) { state error } }', { id }, analyst)).data?.reprojection;
  const status = async (id: string) => (await gql<{ customer: { status: string } | null }>(app.url, 'query($id: ID!) { customer(id: $id) { status } }', { id }, analyst)).data?.customer?.status;

  it('is not failed by a deadlock with a live batch: the batch is tried again and the job finishes', async () => {
    await app.event(CRM, 'c', null, { id: 1, customer_no: 'DL-1', email: null, status: 'ACTIVE', updated_at: 1 });
    await app.event(BILLING, 'c', null, { account_id: 1, cust_ref: 'DL-1', state: 1, balance_cents: 0, modified: 1 });
    await waitFor(async () => (await status('DL-1')) === 'AT_RISK', 'the customer at risk');
    const drafted = await gql<{ createRuleSetDraft: { version: number } }>(
      app.url,
      'mutation($d: String!) { createRuleSetDraft(document: $d, comment: "overdue suspends") { version } }',
      { d: stringify(overdueSuspends()) },
      analyst,
    );
    const version = drafted.data!.createRuleSetDraft.version;

    // The live batch's side: its billing record locked, as its upsert leaves it. This session never
    // looks for deadlocks itself (deadlock_timeout 60 s), so the reprojection's backend finds it.
    await session.query(`SET deadlock_timeout = '60s'`);
    await session.query('BEGIN');
    await session.query(`SELECT 1 FROM source_record WHERE system = 'billing' AND record_key = '1' FOR UPDATE`);

    const published = await gql<{ publishRuleSet: { reprojection: { id: string } } }>(
      app.url,
      'mutation($v: Int!) { publishRuleSet(version: $v, comment: "now") { reprojection { id } } }',
      { v: version },
      analyst,
    );
    expect(published.errors).toBeUndefined();
    const job = published.data!.publishRuleSet.reprojection.id;
    // The reprojection holds DL-1's lock and waits for the record.
    await waitFor(async () => {
      const { rows } = await session.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND NOT l.granted AND l.locktype = 'transactionid'`,
      );
      return rows[0].n > 0;
    }, 'the reprojection to wait for the record');
    // The live batch now wants DL-1's lock: a deadlock, which PostgreSQL breaks by ending the reprojection's transaction.
    await session.query(`SELECT pg_advisory_xact_lock(hashtextextended('DL-1', 7316))`);
    await session.query('ROLLBACK');

    await waitFor(async () => (await reprojection(job))?.state !== 'RUNNING', 'the reprojection to end', 30_000);
    expect(await reprojection(job)).toEqual({ state: 'DONE', error: null });
    expect(await status('DL-1')).toBe('SUSPENDED');
  });
});

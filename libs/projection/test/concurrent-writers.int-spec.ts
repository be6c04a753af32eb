import { Client } from 'pg';
import { DebeziumJsonDecoder, DebeziumLog, Row } from '@app/cdc';
import { ChangeEvent, TruncateEvent } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig } from '@app/config';
import { ApplyChangesUseCase } from '@app/projection';
import { BILLING, CRM, gql, TestApp, waitFor } from '@app/testing';

/**
 * Two writers of the projection at once, with one of them held inside its transaction at the
 * worst moment (a test session holds the advisory lock of a customer the first writer must
 * resolve, so it waits after its record upsert and before its commit). These are the races that
 * two batches in flight (CDC_CONCURRENCY) or two instances on one queue run into.
 */
describe('concurrent writers of the projection', () => {
  let app: TestApp;
  let apply: ApplyChangesUseCase;
  let decoder: DebeziumJsonDecoder;
  let observer: Client;
  const log = new DebeziumLog();

  beforeAll(async () => {
    app = await TestApp.start();
    apply = app.running.app.get(ApplyChangesUseCase);
    decoder = new DebeziumJsonDecoder(app.running.app.get<DomainConfig>(DOMAIN_CONFIG).sources, app.env.cdc.limits);
    observer = new Client({ connectionString: app.env.database.url });
    await observer.connect();
  });

  afterAll(async () => {
    await observer.end();
    await app.stop();
  });

  const crm = (id: number, customer: string, status: string): Row => ({ id, customer_no: customer, email: null, status, updated_at: 1_700_000_000_000_000 });

  function decoded(envelope: Row): ChangeEvent | TruncateEvent {
    const d = decoder.decode({ topic: CRM.topic, value: JSON.stringify(envelope) });
    if (d.kind === 'skip') throw new Error('skipped');
    return d;
  }

  /** A session holding a customer's advisory lock, as a writer resolving that customer takes it. */
  async function holdCustomer(id: string): Promise<{ release: () => Promise<void> }> {
    const holder = new Client({ connectionString: app.env.database.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 7316))', [id]);
    return {
      release: async () => {
        await holder.query('SELECT pg_advisory_unlock_all()');
        await holder.end();
      },
    };
  }

  /** Backends of this database waiting on a lock of the given type. */
  async function waiting(lockType: 'advisory' | 'transactionid'): Promise<number> {
    const { rows } = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE a.datname = current_database() AND NOT l.granted AND l.locktype = $1`,
      [lockType],
    );
    return rows[0].n;
  }

  async function customer(id: string): Promise<{ status: string; sources: Array<{ recordKey: string }> } | null> {
    const res = await gql<{ customer: { status: string; sources: Array<{ recordKey: string }> } | null }>(
      app.url,
      `query($id: ID!) { customer(id: $id) { status sources { recordKey } } }`,
      { id },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.customer;
  }

  async function liveRow(id: string): Promise<boolean | undefined> {
    const { rows } = await observer.query<{ live: boolean }>('SELECT live FROM customer WHERE id = $1', [id]);
    return rows[0]?.live;
  }

  it('a record created for X and moved to Y by a second batch while the first is still open leaves X without it', async () => {
    const create = decoded(log.envelope(CRM, 'c', null, crm(101, 'PH-X', 'ACTIVE')));
    const move = decoded(log.envelope(CRM, 'u', crm(101, 'PH-X', 'ACTIVE'), crm(101, 'PH-Y', 'DORMANT')));
    const held = await holdCustomer('PH-X');
    // The first batch inserts the record, then waits for X's lock before resolving X.
    const first = apply.execute([create]);
    await waitFor(async () => (await waiting('advisory')) >= 1, 'the first batch to wait for X');
    // The second batch's snapshot does not hold the uncommitted record; its upsert waits for it.
    const second = apply.execute([move]);
    await waitFor(async () => (await waiting('transactionid')) >= 1, 'the second batch to wait for the first');
    await held.release();
    await Promise.all([first, second]);

    expect(await customer('PH-Y')).toEqual({ status: 'INACTIVE', sources: [{ recordKey: '101' }] });
    expect(await customer('PH-X')).toBeNull();
    expect(await liveRow('PH-X')).toBe(false);
  });

  it('a record inserted by a batch still open when a truncate of its system runs is deleted by it', async () => {
    const create = decoded(log.envelope(CRM, 'c', null, crm(201, 'TR-Z', 'ACTIVE')));
    const truncate = decoded(log.envelope(CRM, 't', null, null));
    expect(truncate.kind).toBe('truncate');
    const held = await holdCustomer('TR-Z');
    const first = apply.execute([create]);
    await waitFor(async () => (await waiting('advisory')) >= 1, 'the first batch to wait for Z');
    // The truncate either waits for the open batch (it must) or runs past it: either way, the
    // record it should delete is then committed.
    let truncated = false;
    const second = apply.execute([truncate]).then(() => (truncated = true));
    await waitFor(async () => truncated || (await waiting('advisory')) >= 2, 'the truncate to finish or wait');
    await held.release();
    await Promise.all([first, second]);

    expect(await customer('TR-Z')).toBeNull();
    const { rows } = await observer.query<{ deleted: boolean }>(`SELECT deleted FROM source_record WHERE system = 'crm' AND record_key = '201'`);
    expect(rows).toEqual([{ deleted: true }]);
  });

  it('status changes carry the customer version, growing with each change', async () => {
    const outcome1 = await apply.execute([decoded(log.envelope(CRM, 'c', null, crm(301, 'VER-1', 'PROSPECT')))]);
    const outcome2 = await apply.execute([decoded(log.envelope(CRM, 'u', crm(301, 'VER-1', 'PROSPECT'), crm(301, 'VER-1', 'DORMANT')))]);
    const [a] = outcome1.statusChanges;
    const [b] = outcome2.statusChanges;
    expect(a).toMatchObject({ customerId: 'VER-1', to: 'PENDING', customerVersion: 1 });
    expect(b).toMatchObject({ customerId: 'VER-1', from: 'PENDING', to: 'INACTIVE', customerVersion: 2 });
    // History keeps them, and GraphQL shows them, newest first.
    const res = await gql<{ customer: { history: Array<{ to: string; customerVersion: number }> } }>(
      app.url,
      `{ customer(id: "VER-1") { history { to customerVersion } } }`,
    );
    expect(res.data!.customer.history).toEqual([
      { to: 'INACTIVE', customerVersion: 2 },
      { to: 'PENDING', customerVersion: 1 },
    ]);
  });

  it('two batches at once deleting the last two records of one customer publish its removal once', async () => {
    const account = { account_id: 401, cust_ref: 'RM-1', state: 0, balance_cents: 0, modified: 1 };
    await apply.execute([decoded(log.envelope(CRM, 'c', null, crm(401, 'RM-1', 'ACTIVE'))), decodedOf(BILLING, log.envelope(BILLING, 'c', null, account))]);
    const held = await holdCustomer('RM-1');
    // Both upsert their record, then wait for the customer's lock: the second to resolve sees both deletes. The first wrote
    // version 2 from the record left: ACTIVE by billing (no change published), or PENDING by crm alone (a change), whichever got the lock first.
    const first = apply.execute([decoded(log.envelope(CRM, 'd', crm(401, 'RM-1', 'ACTIVE'), null))]);
    const second = apply.execute([decodedOf(BILLING, log.envelope(BILLING, 'd', account, null))]);
    await waitFor(async () => (await waiting('advisory')) >= 2, 'both batches to wait for the customer');
    await held.release();
    const outcomes = await Promise.all([first, second]);
    const changes = outcomes.flatMap((o) => o.statusChanges).filter((c) => c.customerId === 'RM-1');
    const removals = changes.filter((c) => c.removed);
    expect(removals).toEqual([expect.objectContaining({ customerId: 'RM-1', removed: true, customerVersion: 3 })]);
    const before = changes.find((c) => !c.removed);
    // The removal carries the status the customer last had: ACTIVE, or PENDING when the crm record was the one left.
    expect(removals[0]).toMatchObject(before ? { from: before.to, to: before.to } : { from: 'ACTIVE', to: 'ACTIVE' });
    if (before) expect(before).toMatchObject({ from: 'ACTIVE', to: 'PENDING', customerVersion: 2 });
    expect(await liveRow('RM-1')).toBe(false);
    // The creation, the change in between if there was one; never the removal.
    const { rows } = await observer.query<{ n: number }>(`SELECT count(*)::int AS n FROM status_history WHERE customer_id = 'RM-1'`);
    expect(rows[0].n).toBe(before ? 2 : 1);
  });

  function decodedOf(table: typeof BILLING, envelope: Row): ChangeEvent | TruncateEvent {
    const d = decoder.decode({ topic: table.topic, value: JSON.stringify(envelope) });
    if (d.kind === 'skip') throw new Error('skipped');
    return d;
  }
});

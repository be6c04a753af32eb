import { BILLING, CRM, gql, PORTAL, TestApp, waitFor } from '@app/testing';

/** Every "Facts" case of the reference domain, each as its own test, through RabbitMQ and GraphQL. */
const Q = `query($id: ID!) { customer(id: $id) { id status reason statusSince updatedAt
  sources { system recordKey status rule raw position } history(first: 50) { from to reason at } } }`;

type Customer = {
  id: string;
  status: string;
  reason: string;
  statusSince: string;
  updatedAt: string;
  sources: Array<{ system: string; recordKey: string; status: string; rule: string; raw: string; position: string | null }>;
  history: Array<{ from: string | null; to: string; reason: string; at: string }>;
};

describe('Debezium facts', () => {
  let app: TestApp;
  let seq = 0;
  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterAll(() => app.stop());

  const customer = async (id: string) => (await gql<{ customer: Customer | null }>(app.url, Q, { id })).data?.customer ?? null;
  const until = async (id: string, pred: (c: Customer | null) => boolean, what: string): Promise<Customer | null> => {
    let last: Customer | null = null;
    await waitFor(async () => pred((last = await customer(id))), what);
    return last;
  };
  /** Events are processed in order: once a later sentinel is visible, everything before it was handled. */
  const barrier = async () => {
    const id = `SENTINEL-${++seq}`;
    await app.event(CRM, 'c', null, { id: 900000 + seq, customer_no: id, email: null, status: 'ACTIVE', updated_at: 1 });
    await until(id, (c) => c !== null, `sentinel ${id}`);
  };
  const crmRow = (id: number, no: string, status: string, extra: Record<string, unknown> = {}) => ({
    id,
    customer_no: no,
    email: `${no.toLowerCase()}@example.com`,
    status,
    updated_at: 1700000000000000,
    ...extra,
  });

  it('accepts the plain envelope (no schema wrapper)', async () => {
    await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, crmRow(1, 'F-PLAIN', 'ACTIVE')));
    expect(await until('F-PLAIN', (c) => c?.status === 'PENDING', 'plain')).toMatchObject({ reason: 'no-billing-yet' });
  });

  it('accepts the envelope inside the {schema, payload} wrapper', async () => {
    await app.publish(CRM.topic, app.log.wrapped(app.log.envelope(CRM, 'c', null, crmRow(2, 'F-WRAPPED', 'DORMANT'))));
    expect(await until('F-WRAPPED', (c) => c !== null, 'wrapped')).toMatchObject({ status: 'INACTIVE', reason: 'inactive' });
  });

  it("accepts ExtractNewRecordState's flattened rows, including a rewritten delete", async () => {
    const row = { account_id: 3, cust_ref: 'f-flat', state: 2, balance_cents: 0, modified: 1700000000000 };
    await app.publish(BILLING.topic, app.log.flattened(app.log.envelope(BILLING, 'c', null, row)));
    expect(await until('F-FLAT', (c) => c !== null, 'flattened create')).toMatchObject({ status: 'SUSPENDED', reason: 'suspended' });
    await app.publish(BILLING.topic, app.log.flattened(app.log.envelope(BILLING, 'd', row, null)));
    await until('F-FLAT', (c) => c === null, 'flattened delete');
  });

  it('treats r (snapshot read) as an upsert', async () => {
    await app.event(CRM, 'r', null, crmRow(4, 'F-SNAP', 'PROSPECT'));
    await until('F-SNAP', (c) => c?.status === 'PENDING', 'snapshot insert');
    await app.event(CRM, 'r', null, crmRow(4, 'F-SNAP', 'CLOSED'));
    expect(await until('F-SNAP', (c) => c?.status === 'CLOSED', 'snapshot update')).toMatchObject({ reason: 'closed' });
  });

  it('applies t (truncate): every record of that system older than it is gone', async () => {
    const user = (n: number) => ({ user_id: `00000000-0000-4000-8000-00000000000${n}`, customer_no: `F-TRUNC-${n}`, registered_at: '2024-01-01T00:00:00Z', first_login_at: null, locked: false });
    await app.event(PORTAL, 'c', null, user(1));
    await app.event(PORTAL, 'c', null, user(2));
    await app.event(CRM, 'c', null, crmRow(5, 'F-TRUNC-2', 'DORMANT'));
    await until('F-TRUNC-2', (c) => c?.sources.length === 2, 'two sources');
    await app.publish(PORTAL.topic, app.log.envelope(PORTAL, 't', null, null));
    await until('F-TRUNC-1', (c) => c === null, 'portal-only customer gone');
    const c = await until('F-TRUNC-2', (c) => c?.sources.length === 1, 'portal record gone');
    expect(c?.sources.map((s) => s.system)).toEqual(['crm']);
  });

  it('stores deleted a record that a truncate did not see but is older than it (a late event, a batch committed out of order, a backfilled row)', async () => {
    const user = { user_id: '00000000-0000-4000-8000-000000000009', customer_no: 'F-TRUNC-LATE', registered_at: '2024-01-01T00:00:00Z', first_login_at: null, locked: false };
    const late = app.log.envelope(PORTAL, 'c', null, user); // written before the truncate, delivered after it
    await app.event(CRM, 'c', null, crmRow(9, 'F-TRUNC-LATE', 'DORMANT'));
    await until('F-TRUNC-LATE', (c) => c?.status === 'INACTIVE', 'the crm record');
    await app.publish(PORTAL.topic, app.log.envelope(PORTAL, 't', null, null));
    await app.publish(PORTAL.topic, late);
    await barrier();
    expect((await customer('F-TRUNC-LATE'))?.sources.map((s) => s.system)).toEqual(['crm']);
    // An event after the truncate brings the record back.
    await app.event(PORTAL, 'u', null, { ...user, first_login_at: '2024-02-01T00:00:00Z' });
    const c = await until('F-TRUNC-LATE', (c) => c?.sources.length === 2, 'the portal record after the truncate');
    expect(c?.status).toBe('ACTIVE');
  });

  it('takes tombstones (empty body, and "default" from Debezium Server) in its stride', async () => {
    await app.publish(CRM.topic, null);
    await app.publish(CRM.topic, 'default');
    await barrier();
    expect(await app.drainDeadLetters()).toEqual([]);
  });

  it("finds a delete's record by its key when before holds only the primary key", async () => {
    await app.event(CRM, 'c', null, crmRow(6, 'F-DEL', 'ACTIVE'));
    const account = { account_id: 6, cust_ref: 'F-DEL', state: 0, balance_cents: 0, modified: 1 };
    await app.event(BILLING, 'c', null, account);
    await until('F-DEL', (c) => c?.reason === 'active', 'active with billing');
    await app.event(BILLING, 'd', { account_id: 6 }, null);
    const c = await until('F-DEL', (c) => c?.reason === 'no-billing-yet', 'billing record deleted');
    expect(c?.sources.map((s) => s.system)).toEqual(['crm']);
    await app.event(CRM, 'd', { id: 6 }, null);
    await until('F-DEL', (c) => c === null, 'no live record left: the customer does not exist');
  });

  it('changes nothing when an event is delivered twice', async () => {
    const e = app.log.envelope(CRM, 'c', null, crmRow(7, 'F-DUP', 'ACTIVE'));
    await app.publish(CRM.topic, e);
    const first = await until('F-DUP', (c) => c !== null, 'first delivery');
    await app.publish(CRM.topic, e);
    await app.publish(CRM.topic, app.log.wrapped(e));
    await barrier();
    expect(await customer('F-DUP')).toEqual(first);
  });

  it('ignores a late event older than the applied one, by lsn', async () => {
    const older = app.log.envelope(CRM, 'u', null, crmRow(8, 'F-LATE-LSN', 'DORMANT'));
    const newer = app.log.envelope(CRM, 'u', null, crmRow(8, 'F-LATE-LSN', 'ACTIVE'));
    await app.publish(CRM.topic, newer);
    const applied = await until('F-LATE-LSN', (c) => c !== null, 'newer applied');
    await app.publish(CRM.topic, older);
    await barrier();
    expect(await customer('F-LATE-LSN')).toEqual(applied);
  });

  it('ignores a late event older than the applied one, by binlog file + pos + row', async () => {
    const row = (state: number) => ({ account_id: 9, cust_ref: 'F-LATE-BIN', state, balance_cents: 0, modified: 1 });
    await app.publish(BILLING.topic, app.log.envelope(BILLING, 'u', null, row(1), { file: 'mysql-bin.000010', pos: 400, row: 1 }));
    await until('F-LATE-BIN', (c) => c?.status === 'AT_RISK', 'newer applied');
    for (const at of [
      { file: 'mysql-bin.000009', pos: 900000, row: 5 },
      { file: 'mysql-bin.000010', pos: 300, row: 9 },
      { file: 'mysql-bin.000010', pos: 400, row: 0 },
    ]) {
      await app.publish(BILLING.topic, app.log.envelope(BILLING, 'u', null, row(0), at));
    }
    await barrier();
    expect((await customer('F-LATE-BIN'))?.status).toBe('AT_RISK');
    await app.publish(BILLING.topic, app.log.envelope(BILLING, 'u', null, row(0), { file: 'mysql-bin.000010', pos: 400, row: 2 }));
    await until('F-LATE-BIN', (c) => c?.status === 'ACTIVE', 'a later row of the same binlog event applies');
  });

  it('falls back to ts_ms when an event carries neither lsn nor binlog position', async () => {
    const flat = (status: string, ts: number) => ({ ...crmRow(10, 'F-LATE-TS', status), __op: 'u', __source_ts_ms: ts });
    await app.publish(CRM.topic, flat('ACTIVE', 1700000005000));
    await until('F-LATE-TS', (c) => c?.sources[0]?.status === 'ACTIVE', 'newer applied');
    await app.publish(CRM.topic, flat('DORMANT', 1700000004000));
    await barrier();
    expect((await customer('F-LATE-TS'))?.sources[0]).toMatchObject({ status: 'ACTIVE', position: 'ts_ms:1700000005000' });
  });

  it('moves a record to another customer when its customer number changes', async () => {
    const account = { account_id: 11, cust_ref: 'F-FROM', state: 1, balance_cents: 10, modified: 1 };
    await app.event(CRM, 'c', null, crmRow(11, 'F-FROM', 'ACTIVE'));
    await app.event(CRM, 'c', null, crmRow(12, 'F-TO', 'ACTIVE'));
    await app.event(BILLING, 'c', null, account);
    await until('F-FROM', (c) => c?.status === 'AT_RISK', 'F-FROM at risk');
    await app.event(BILLING, 'u', account, { ...account, cust_ref: 'f-to ' });
    const to = await until('F-TO', (c) => c?.status === 'AT_RISK', 'F-TO gained the account');
    expect(to?.sources.map((s) => `${s.system}:${s.recordKey}`)).toEqual(['billing:11', 'crm:12']);
    const from = await until('F-FROM', (c) => c?.reason === 'no-billing-yet', 'F-FROM lost it');
    expect(from?.sources.map((s) => s.system)).toEqual(['crm']);
    expect(from?.history[0]).toMatchObject({ from: 'AT_RISK', to: 'PENDING', reason: 'no-billing-yet' });
  });

  it('skips heartbeat, schema-change and transaction-metadata messages', async () => {
    await app.publish('__debezium-heartbeat.legacy', { ts_ms: 1700000000000 });
    await app.publish('legacy', {
      source: { connector: 'mysql', name: 'legacy', db: 'billing', file: 'mysql-bin.000003', pos: 100 },
      ts_ms: 1700000000000,
      databaseName: 'billing',
      schemaName: null,
      ddl: 'ALTER TABLE accounts ADD COLUMN note varchar(20)',
      tableChanges: [],
    });
    await app.publish('legacy.transaction', { status: 'BEGIN', id: '571:53195829', ts_ms: 1700000000000, event_count: null, data_collections: null });
    await app.publish('legacy.transaction', { status: 'END', id: '571:53195829', ts_ms: 1700000000000, event_count: 1, data_collections: [] });
    await barrier();
    expect(await app.drainDeadLetters()).toEqual([]);
  });

  it("changes a customer's status only when its inputs change", async () => {
    await app.event(CRM, 'c', null, crmRow(13, 'F-STABLE', 'ACTIVE'));
    const before = await until('F-STABLE', (c) => c !== null, 'created');
    // email is not an input of any rule: the record is updated, the status is not.
    await app.event(CRM, 'u', null, crmRow(13, 'F-STABLE', 'ACTIVE', { email: 'new@example.com' }));
    const after = await until('F-STABLE', (c) => c?.sources[0].raw.includes('new@example.com') === true, 'email updated');
    expect(after).toMatchObject({ status: before!.status, reason: before!.reason, statusSince: before!.statusSince, history: before!.history });
  });

  it("keeps the stored value of a column Debezium sent as its unavailable-value placeholder (an unchanged TOASTed value)", async () => {
    await app.event(CRM, 'c', null, crmRow(14, 'F-TOAST', 'DORMANT'));
    const before = await until('F-TOAST', (c) => c !== null, 'created');
    expect(before).toMatchObject({ status: 'INACTIVE', reason: 'inactive' });
    // The update changed the email only; the status column came as the placeholder.
    await app.event(CRM, 'u', null, crmRow(14, 'F-TOAST', '__debezium_unavailable_value', { email: 'changed-1@example.org' }));
    const after = await until('F-TOAST', (c) => c?.sources[0].raw.includes('changed-1@example.org') === true, 'email updated');
    expect(after).toMatchObject({ status: 'INACTIVE', reason: 'inactive', statusSince: before!.statusSince });
    expect(JSON.parse(after!.sources[0].raw)).toMatchObject({ status: 'DORMANT', email: 'changed-1@example.org' });
    // The same in ExtractNewRecordState's flattened form.
    const row = crmRow(14, 'F-TOAST', '__debezium_unavailable_value', { email: 'changed-2@example.org', updated_at: 1700000000000001 });
    await app.publish(CRM.topic, app.log.flattened(app.log.envelope(CRM, 'u', null, row)));
    const flat = await until('F-TOAST', (c) => c?.sources[0].raw.includes('changed-2@example.org') === true, 'flattened update');
    expect(flat).toMatchObject({ status: 'INACTIVE', reason: 'inactive' });
    expect(JSON.parse(flat!.sources[0].raw)).toMatchObject({ status: 'DORMANT' });
  });
});

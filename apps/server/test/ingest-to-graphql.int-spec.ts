import { BILLING, CRM, gql, PORTAL, TestApp, waitFor } from '@app/testing';

/**
 * End to end on the real servers: Debezium events published to RabbitMQ as Debezium Server's
 * sink does → canonical status, reason and sources through GraphQL.
 */
const CUSTOMER = `query($id: ID!) { customer(id: $id) { id status reason statusSince updatedAt
  sources { system recordKey status rule raw sourceTimestamp position } history { from to reason at } } }`;

type Customer = {
  id: string;
  status: string;
  reason: string;
  statusSince: string;
  updatedAt: string;
  sources: Array<{ system: string; recordKey: string; status: string; rule: string; raw: string; sourceTimestamp: string | null; position: string | null }>;
  history: Array<{ from: string | null; to: string; reason: string }>;
};

describe('change events to GraphQL', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterAll(() => app.stop());

  const customer = async (id: string) => (await gql<{ customer: Customer | null }>(app.url, CUSTOMER, { id })).data?.customer ?? null;
  const until = (id: string, pred: (c: Customer | null) => boolean, what: string) =>
    waitFor(async () => {
      const c = await customer(id);
      return pred(c) ? (c ?? true) : undefined;
    }, what);

  it('resolves one canonical status from three systems, with the rule that decided and the sources', async () => {
    await app.event(CRM, 'c', null, { id: 1, customer_no: 'C-000001', email: 'a@example.com', status: 'ACTIVE', updated_at: 1700000000000000 });
    await app.event(BILLING, 'c', null, { account_id: 10, cust_ref: ' c-000001 ', state: 0, balance_cents: 0, modified: 1700000000000 });
    await app.event(PORTAL, 'c', null, {
      user_id: '8a1c7c8e-0000-4000-8000-000000000001',
      customer_no: 'c-000001',
      registered_at: '2023-11-01T10:00:00Z',
      first_login_at: '2023-11-02T10:00:00Z',
      locked: false,
    });
    const c = (await until('C-000001', (c) => c?.sources.length === 3, 'three sources for C-000001')) as Customer;
    expect(c).toMatchObject({ id: 'C-000001', status: 'ACTIVE', reason: 'active' });
    expect(c.sources.map((s) => [s.system, s.recordKey, s.status, s.rule])).toEqual([
      ['billing', '10', 'ACTIVE', 'billing-normal'],
      ['crm', '1', 'ACTIVE', 'crm-active'],
      ['portal', '8a1c7c8e-0000-4000-8000-000000000001', 'ACTIVE', 'portal-logged-in'],
    ]);
    expect(JSON.parse(c.sources[0].raw)).toEqual({ account_id: 10, cust_ref: ' c-000001 ', state: 0, balance_cents: 0, modified: 1700000000000 });
    expect(c.sources[0].position).toMatch(/^mysql-bin\.000003:\d+:0$/);
    expect(c.sources[1].position).toMatch(/^lsn:\d+$/);
    expect(c.history[0]).toMatchObject({ to: 'ACTIVE', reason: 'active' });
    // The id given in a query is normalized like the legacy customer numbers.
    expect((await customer('  c-000001 '))?.id).toBe('C-000001');
  });

  it('follows an update through every resolution rule it crosses', async () => {
    await app.event(CRM, 'c', null, { id: 2, customer_no: 'C-000002', email: 'b@example.com', status: 'ACTIVE', updated_at: 1 });
    await until('C-000002', (c) => c?.reason === 'no-billing-yet', 'C-000002 pending without billing');
    const account = { account_id: 20, cust_ref: 'C-000002', state: 1, balance_cents: 5000, modified: 1 };
    await app.event(BILLING, 'c', null, account);
    await until('C-000002', (c) => c?.status === 'AT_RISK', 'C-000002 at risk');
    await app.event(BILLING, 'u', account, { ...account, state: 9 });
    const c = (await until('C-000002', (c) => c?.status === 'CLOSED', 'C-000002 closed')) as Customer;
    expect(c.reason).toBe('closed');
    expect(c.history.map((h) => [h.from, h.to, h.reason])).toEqual([
      ['AT_RISK', 'CLOSED', 'closed'],
      ['PENDING', 'AT_RISK', 'at-risk'],
      [null, 'PENDING', 'no-billing-yet'],
    ]);
  });

  it('answers customers(ids) in the order asked, null where unknown, and counts statuses', async () => {
    await until('C-000002', (c) => c?.status === 'CLOSED', 'C-000002 closed');
    const res = await gql<{ customers: Array<{ id: string } | null>; statusCounts: Array<{ status: string; count: number }> }>(
      app.url,
      `{ customers(ids: ["C-000002", "NOPE", "c-000001"]) { id } statusCounts { status count } }`,
    );
    expect(res.data?.customers).toEqual([{ id: 'C-000002' }, null, { id: 'C-000001' }]);
    expect(res.data?.statusCounts).toEqual(
      expect.arrayContaining([
        { status: 'ACTIVE', count: 1 },
        { status: 'CLOSED', count: 1 },
      ]),
    );
  });

  it('pages customersByStatus with Relay cursors', async () => {
    for (let i = 0; i < 5; i++) {
      await app.event(CRM, 'c', null, { id: 100 + i, customer_no: `P-${i}`, email: null, status: 'DORMANT', updated_at: 1 });
    }
    await until('P-4', (c) => c?.status === 'INACTIVE', 'P-4 inactive');
    const page = (after: string | null) =>
      gql<{ customersByStatus: { edges: Array<{ cursor: string; node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string }; totalCount: number } }>(
        app.url,
        `query($after: String) { customersByStatus(status: "INACTIVE", first: 2, after: $after) {
           edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }`,
        { after },
      );
    const ids: string[] = [];
    let after: string | null = null;
    for (let n = 0; n < 5; n++) {
      const r: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string }; totalCount: number } = (await page(after)).data!
        .customersByStatus;
      ids.push(...r.edges.map((e) => e.node.id));
      expect(r.totalCount).toBe(5);
      if (!r.pageInfo.hasNextPage) break;
      after = r.pageInfo.endCursor;
    }
    expect(ids).toEqual(['P-0', 'P-1', 'P-2', 'P-3', 'P-4']);
  });

  it('reports raw values that no rule maps, with counts', async () => {
    await app.event(CRM, 'c', null, { id: 200, customer_no: 'U-1', email: null, status: 'LEAD', updated_at: 1 });
    await app.event(CRM, 'c', null, { id: 201, customer_no: 'U-2', email: null, status: 'LEAD', updated_at: 1 });
    await until('U-2', (c) => c?.status === 'UNKNOWN', 'U-2 unknown');
    const res = await gql<{ unmappedValues: Array<{ system: string; field: string; value: string; count: number }> }>(
      app.url,
      `{ unmappedValues { system field value count lastSeen } }`,
    );
    expect(res.data?.unmappedValues).toEqual([expect.objectContaining({ system: 'crm', field: 'status', value: 'LEAD', count: 2 })]);
  });

  it('lists the most frequent unmapped values first, at most `first` of them, and counts all of them apart', async () => {
    // Three more unmapped crm statuses: on 3, 2 and 1 records (LEAD is on 2 from the test before).
    let id = 300;
    for (const [status, n] of [['PROSPECT_X', 3], ['TRIAL_X', 1], ['PAUSED_X', 2]] as const) {
      for (let k = 0; k < n; k++) await app.event(CRM, 'c', null, { id: ++id, customer_no: `UF-${id}`, email: null, status, updated_at: 1 });
    }
    await until(`UF-${id}`, (c) => c?.status === 'UNKNOWN', 'last one unknown');
    type Res = { unmappedValues: Array<{ value: string; count: number }>; unmappedTotals: { values: number; records: number } };
    const top = await gql<Res>(app.url, `{ unmappedValues(first: 2) { value count } unmappedTotals { values records } }`);
    expect(top.data?.unmappedValues).toEqual([
      { value: 'PROSPECT_X', count: 3 },
      { value: 'LEAD', count: 2 },
    ]);
    expect(top.data?.unmappedTotals).toEqual({ values: 4, records: 8 });
    expect((await gql<Res>(app.url, `{ unmappedValues { value } }`)).data?.unmappedValues).toHaveLength(4);
    for (const first of [-1, 501]) {
      const refused = await gql(app.url, `{ unmappedValues(first: ${first}) { value } }`);
      expect(refused.errors?.[0]).toMatchObject({ message: `unmappedValues(first) must be between 0 and 500, got ${first}`, extensions: { code: 'BAD_USER_INPUT' } });
    }
  });

  it('refuses a query above the cost limit with a clear error', async () => {
    const res = await gql(app.url, `{ customersByStatus(status: "ACTIVE", first: 500) { edges { node { history(first: 500) { to } } } } }`);
    expect(res.errors?.[0]).toMatchObject({ message: expect.stringMatching(/too costly/), extensions: { code: 'QUERY_TOO_COSTLY' } });
  });

  it('serves the last reconcile report through GraphQL (none yet)', async () => {
    const res = await gql(app.url, '{ lastReconcileReport(system: "billing") { system } }');
    expect(res).toEqual({ data: { lastReconcileReport: null } });
  });

  it('serves /health once ready, with the active rule set', async () => {
    const res = await fetch(`${app.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', details: { database: { status: 'up' }, redis: { status: 'up' }, consumer: { status: 'up' }, ruleSet: { version: 1 } } });
  });
});

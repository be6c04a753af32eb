import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { RunningApp, startApp } from '@app/bootstrap';
import { ApiTokenService } from '@app/access';
import { CRM, gql, GraphqlResponse, TestApp, waitFor } from '@app/testing';

/**
 * What a hostile or careless client can send: every input has a limit and an error with a code;
 * cost follows the work a query causes; nothing a client names grows the metrics; a revoked
 * token loses its live subscriptions.
 */
const MAX_IDS = 50;
const CHECK_MS = 500;

type Headers = Record<string, string>;
const code = (r: GraphqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;

describe('hostile requests', () => {
  let app: TestApp;
  let tokens: ApiTokenService;
  let viewer: Headers;
  let analyst: Headers;
  let admin: Headers;
  const bearer = async (name: string, role: 'viewer' | 'analyst' | 'admin') => {
    const { token, info } = await tokens.create(name, role, 'test');
    return { token, id: info.id, headers: { authorization: `Bearer ${token}` } };
  };

  beforeAll(async () => {
    app = await TestApp.start({
      ALLOW_ANONYMOUS_READS: 'false',
      GRAPHQL_MAX_IDS: String(MAX_IDS),
      GRAPHQL_METRIC_OPERATIONS: '10',
      GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS: String(CHECK_MS),
    });
    tokens = app.running.app.get(ApiTokenService);
    viewer = (await bearer('vic', 'viewer')).headers;
    analyst = (await bearer('ana', 'analyst')).headers;
    admin = (await bearer('adam', 'admin')).headers;
    for (let i = 1; i <= 3; i++) await app.event(CRM, 'c', null, { id: i, customer_no: `H-${i}`, email: null, status: 'PROSPECT', updated_at: 1 });
    await waitFor(async () => (await gql<{ customer: unknown }>(app.url, '{ customer(id: "H-3") { id } }', {}, viewer)).data?.customer, 'customers projected');
  });
  afterAll(() => app.stop());

  describe('cost', () => {
    it('prices @include(if: $var) with the variables of each request, not those of the first run', async () => {
      const q = `query($on: Boolean!) { customersByStatus(status: "PENDING", first: 500) @include(if: $on) {
        edges { node { id history(first: 500) { to } } } } }`;
      const off = await gql(app.url, q, { on: false }, viewer);
      expect(off.errors).toBeUndefined();
      const on = await gql(app.url, q, { on: true }, viewer);
      expect(on.errors?.[0]).toMatchObject({ message: expect.stringMatching(/too costly/), extensions: { code: 'QUERY_TOO_COSTLY' } });
      // The same for a variable page size inside a fragment.
      const fragment = `query($n: Int) { ...Page } fragment Page on Query { customersByStatus(status: "PENDING", first: $n) { edges { node { history(first: 500) { to } } } } }`;
      expect((await gql(app.url, fragment, { n: 1 }, viewer)).errors).toBeUndefined();
      expect(code(await gql(app.url, fragment, { n: 500 }, viewer))).toBe('QUERY_TOO_COSTLY');
    });

    it('prices each alias of a field that runs its own SQL query as a query, while a dashboard still passes', async () => {
      const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: statusCounts { count }`).join(' ')} }`;
      const r = await gql(app.url, aliases(60), {}, viewer);
      expect(r.errors?.[0]).toMatchObject({ message: expect.stringMatching(/60 database queries/), extensions: { code: 'QUERY_TOO_COSTLY' } });
      const dashboard = `{ statusCounts { status count } unmappedValues { value count }
        pending: customersByStatus(status: "PENDING", first: 20) { totalCount edges { node { id status history(first: 5) { to at } } } }
        active: customersByStatus(status: "ACTIVE", first: 20) { totalCount edges { node { id status } } }
        customers(ids: ["H-1", "H-2"]) { id status explanation { resolution { rule } } } }`;
      const ok = await gql<{ statusCounts: unknown[] }>(app.url, dashboard, {}, viewer);
      expect(ok.errors).toBeUndefined();
      expect(ok.data?.statusCounts).toEqual([{ status: 'PENDING', count: 3 }]);
    });

    it('refuses the 2,400-alias request of the issue at once, before running a query', async () => {
      const q = `{ ${Array.from({ length: 2400 }, (_, i) => `s${i}: statusCounts { count }`).join(' ')} }`;
      expect(q.length).toBeGreaterThan(33_000);
      const r = await gql(app.url, q, {}, viewer);
      expect(r.errors?.[0]).toMatchObject({ message: expect.stringMatching(/query is too large: \d+ characters, the limit is 16384/), extensions: { code: 'QUERY_TOO_LARGE' } });
    });

    it('bounds tokens (hence fields and aliases) and comments, and the request body, with codes', async () => {
      const many = await gql(app.url, `{ ${'__typename '.repeat(1100)}}`, {}, viewer);
      expect(many.errors?.[0]).toMatchObject({ message: expect.stringMatching(/more than 1000 tokens/), extensions: { code: 'QUERY_TOO_LARGE' } });
      const padded = await gql(app.url, `# ${'x'.repeat(20_000)}\n{ __typename }`, {}, viewer);
      expect(code(padded)).toBe('QUERY_TOO_LARGE');
      const res = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...viewer },
        body: JSON.stringify({ query: 'query($d: String!) { validateRuleSet(document: $d) { path } }', variables: { d: 'x'.repeat(1_100_000) } }),
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ errors: [{ message: expect.stringMatching(/too large/i), extensions: { code: 'BAD_REQUEST' } }] });
      const deep = await gql(app.url, '{ customer(id: "H-1") { explanation { sources { inputs { field } } } } a: __type(name: "Customer") { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } }', {}, viewer);
      expect(code(deep)).toBe('QUERY_TOO_DEEP');
      expect(deep.errors?.[0].message).toMatch(/query is too deep: Query depth limit of 8 exceeded, found 9/);
    });
  });

  describe('inputs', () => {
    it.each<[string, string, () => Headers, RegExp]>([
      ['a negative first', '{ customersByStatus(status: "PENDING", first: -1) { totalCount } }', () => viewer, /customersByStatus\(first\) must be between 0 and 500, got -1/],
      ['a first above the page size', '{ customer(id: "H-1") { history(first: 501) { to } } }', () => viewer, /history\(first\) must be between 0 and 500, got 501/],
      ['ruleSetAudit(first: -5)', '{ ruleSetAudit(first: -5) { action } }', () => analyst, /ruleSetAudit\(first\) must be between 0 and 500, got -5/],
      ['a negative sample size', '{ ruleSetPreview(version: 1, sampleSize: -1) { moving } }', () => analyst, /sampleSize must be between 0 and 100, got -1/],
      ['revokeApiToken(id: "abc")', 'mutation { revokeApiToken(id: "abc") }', () => admin, /token id is a positive integer.*"abc"/],
      ['a token id beyond bigint', 'mutation { revokeApiToken(id: "99999999999999999999") }', () => admin, /token id is a positive integer/],
      ['reprojection(id: "abc")', '{ reprojection(id: "abc") { state } }', () => analyst, /reprojection\(id\) must be a positive integer id, got "abc"/],
      ['an empty token name', 'mutation { createApiToken(name: "  ", role: VIEWER) { token } }', () => admin, /token name must be 1 to 100 characters/],
      ['a garbage cursor', '{ customersByStatus(status: "PENDING", after: "Zm9v") { totalCount } }', () => viewer, /after\) is not a cursor of this API/],
      ['more ids than the limit', `{ customers(ids: [${Array.from({ length: MAX_IDS + 1 }, (_, i) => `"H-${i}"`).join(',')}]) { id } }`, () => viewer, /at most 50 ids, got 51/],
    ])('answers %s with BAD_USER_INPUT and a message naming the limit, not a PostgreSQL message', async (_name, query, headers, message) => {
      const r = await gql(app.url, query, {}, headers());
      expect(r.errors).toHaveLength(1);
      expect(r.errors![0]).toMatchObject({ message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT' } });
      expect(r.errors![0].message).not.toMatch(/syntax|bigint|LIMIT|relation/);
    });

    it('names tokens in audits by id as well as name, as two tokens may share a name', async () => {
      const document = readFileSync(join(__dirname, '../../../config/rules.yaml'), 'utf8');
      const twins = [await bearer('twin', 'analyst'), await bearer('twin', 'analyst')];
      const createdBy: string[] = [];
      for (const t of twins) {
        const r = await gql<{ createRuleSetDraft: { createdBy: string } }>(app.url, 'mutation($d: String!) { createRuleSetDraft(document: $d) { createdBy } }', { d: document }, t.headers);
        createdBy.push(r.data!.createRuleSetDraft.createdBy);
      }
      expect(createdBy).toEqual([`twin (token ${twins[0].id})`, `twin (token ${twins[1].id})`]);
    });

    it('answers numbers that do not fit an Int with a code, inline or as a variable', async () => {
      expect(code(await gql(app.url, '{ ruleSetVersion(version: 3000000000) { version } }', {}, analyst))).toBe('GRAPHQL_VALIDATION_FAILED');
      const v = await gql(app.url, 'query($v: Int!) { ruleSetVersion(version: $v) { version } }', { v: 3_000_000_000 }, analyst);
      expect(v.errors?.[0]).toMatchObject({ message: expect.stringMatching(/Int cannot represent/), extensions: { code: 'BAD_USER_INPUT' } });
      expect(code(await gql(app.url, '{ customer(id: "H-1") { nope } }', {}, viewer))).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(code(await gql(app.url, '{ customer(id: ', {}, viewer))).toBe('GRAPHQL_PARSE_FAILED');
    });

    it('pages with the cursors it gives out', async () => {
      const page = (after: string | null) =>
        gql<{ customersByStatus: { edges: Array<{ node: { id: string } }>; pageInfo: { endCursor: string } } }>(
          app.url,
          'query($after: String) { customersByStatus(status: "PENDING", first: 2, after: $after) { edges { node { id } } pageInfo { endCursor } } }',
          { after },
          viewer,
        );
      const first = (await page(null)).data!.customersByStatus;
      expect(first.edges.map((e) => e.node.id)).toEqual(['H-1', 'H-2']);
      const second = await page(first.pageInfo.endCursor);
      expect(second.data!.customersByStatus.edges.map((e) => e.node.id)).toEqual(['H-3']);
    });

    it('answers an unexpected failure with INTERNAL_SERVER_ERROR and an error id, never the PostgreSQL text', async () => {
      await app.db.query('ALTER TABLE rule_set_audit RENAME TO rule_set_audit_away');
      try {
        const r = await gql(app.url, '{ ruleSetAudit { action } }', {}, analyst);
        expect(r.errors).toEqual([
          { message: expect.stringMatching(/^internal error \(logged as [0-9a-f]{12}\)$/), locations: [{ line: 1, column: 3 }], path: ['ruleSetAudit'], extensions: { code: 'INTERNAL_SERVER_ERROR', errorId: expect.any(String) } },
        ]);
      } finally {
        await app.db.query('ALTER TABLE rule_set_audit_away RENAME TO rule_set_audit');
      }
    });
  });

  describe('metrics', () => {
    it('keeps /metrics small whatever operation names anonymous clients send', async () => {
      const size = async () => (await (await fetch(`${app.url}/metrics`)).text()).length;
      const before = await size();
      for (let i = 0; i < 200; i++) await gql(app.url, `query Op${i}_${'x'.repeat(50)} { customer(id: "H-1") { id } }`);
      for (let i = 0; i < 50; i++) await gql(app.url, `query Long${i}${'y'.repeat(10_000)} { statusCounts { count } }`);
      const text = await (await fetch(`${app.url}/metrics`)).text();
      // 10 names kept (GRAPHQL_METRIC_OPERATIONS) and `other`: about a dozen series each.
      expect(text.length - before).toBeLessThan(40_000);
      expect(text).toMatch(/statusview_graphql_request_duration_seconds_count\{operation="other"\} 2\d\d/);
      expect(text).not.toContain('yyyyyyyyyy');
    });
  });

  describe('subscriptions', () => {
    type Closed = { code: number; reason: string };
    const subscribe = (url: string, token: string, query: string, variables: Record<string, unknown> = {}) => {
      const got: unknown[] = [];
      let closed: (c: Closed) => void = () => undefined;
      const closedP = new Promise<Closed>((r) => (closed = r));
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: () => undefined, // the close is what the tests look at
        connectionParams: { authorization: `Bearer ${token}` },
        on: { closed: (e) => closed({ code: (e as { code: number }).code, reason: String((e as { reason: unknown }).reason) }) },
      });
      const errored = new Promise<unknown>((resolve) => {
        client.subscribe({ query, variables }, { next: (v) => got.push(v.data), error: resolve, complete: () => undefined });
      });
      return { got, closed: closedP, errored, dispose: () => client.dispose() };
    };
    const ALL = 'subscription { customerStatusChanged { customerId to } }';
    const within = <T>(p: Promise<T>, ms: number, what: string) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms).unref())]);
    let n = 100;
    const change = async () => {
      const id = ++n;
      await app.event(CRM, 'c', null, { id, customer_no: `SUB-${id}`, email: null, status: 'ACTIVE', updated_at: 1 });
      return `SUB-${id}`;
    };
    const delivered = (s: { got: unknown[] }, id: string) => s.got.some((d) => (d as { customerStatusChanged: { customerId: string } }).customerStatusChanged.customerId === id);

    it('refuses a subscription with more ids than the limit (60,000 blocked the event loop on a rollback)', async () => {
      const { token } = await bearer('many-ids', 'viewer');
      const ids = Array.from({ length: 60_000 }, (_, i) => `C-${i}`);
      const s = subscribe(app.url, token, 'subscription($ids: [ID!]) { customerStatusChanged(ids: $ids) { customerId } }', { ids });
      try {
        // The bound only keeps a hang from waiting for Jest's timeout; it is not a speed check.
        const errors = (await within(s.errored, 15_000, 'an error')) as Array<{ message: string; extensions?: { code?: string } }>;
        expect(errors[0]).toMatchObject({ message: expect.stringMatching(/at most 50 ids, got 60000/), extensions: { code: 'BAD_USER_INPUT' } });
      } finally {
        await s.dispose();
      }
    }, 30_000);

    it.each([
      ['empty ids', { ids: [] }, /customerStatusChanged\(ids\) is empty: leave it out for every customer/],
      ['empty statuses', { statuses: [] }, /customerStatusChanged\(statuses\) is empty: leave it out for every status/],
      ['an unknown status', { statuses: ['ACTIVE', 'FOO'] }, /"FOO" not a status of the active rule set \(CLOSED, SUSPENDED, AT_RISK, ACTIVE, PENDING, INACTIVE, UNKNOWN\)/],
    ])('refuses a subscription filter with %s, which used to match every change', async (_name, variables, message) => {
      const { token } = await bearer(`filter-${randomBytes(2).toString('hex')}`, 'viewer');
      const s = subscribe(app.url, token, 'subscription($ids: [ID!], $statuses: [String!]) { customerStatusChanged(ids: $ids, statuses: $statuses) { customerId } }', variables);
      try {
        const errors = (await within(s.errored, 15_000, 'an error')) as Array<{ message: string; extensions?: { code?: string } }>;
        expect(errors[0]).toMatchObject({ message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT' } });
      } finally {
        await s.dispose();
      }
    }, 30_000);

    it('gives subscriptions the limits of queries: length, validation, and subscriptions per connection', async () => {
      const { token } = await bearer('sub-limits', 'viewer');
      const long = subscribe(app.url, token, `subscription { customerStatusChanged(statuses: [${'"ACTIVE",'.repeat(2000)}]) { customerId } }`);
      const invalid = subscribe(app.url, token, 'subscription { customerStatusChanged { nope } }');
      try {
        expect(((await within(long.errored, 2000, 'an error')) as Array<{ extensions?: { code?: string } }>)[0].extensions?.code).toBe('QUERY_TOO_LARGE');
        expect(((await within(invalid.errored, 2000, 'an error')) as Array<{ extensions?: { code?: string } }>)[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      } finally {
        await long.dispose();
        await invalid.dispose();
      }
      let closed: (code: number) => void = () => undefined;
      const closedP = new Promise<number>((r) => (closed = r));
      const client = createClient({
        url: `${app.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: () => undefined,
        connectionParams: { authorization: `Bearer ${token}` },
        on: { closed: (e) => closed((e as { code: number }).code) },
      });
      try {
        for (let i = 0; i < 101; i++) client.subscribe({ query: ALL }, { next: () => undefined, error: () => undefined, complete: () => undefined });
        expect(await within(closedP, 3000, 'the connection closed')).toBe(4400);
      } finally {
        await client.dispose();
      }
    });

    it('closes a live subscription within a second of its token being revoked, and delivers nothing after', async () => {
      const t = await bearer('sub-revoked', 'viewer');
      const s = subscribe(app.url, t.token, ALL);
      try {
        await new Promise((r) => setTimeout(r, 300)); // let it register
        const before = await change();
        await waitFor(async () => delivered(s, before), 'a change while the token is valid');
        const revoked = Date.now();
        const r = await gql(app.url, 'mutation($id: ID!) { revokeApiToken(id: $id) }', { id: t.id }, admin);
        expect(r).toEqual({ data: { revokeApiToken: true } });
        expect(await within(s.closed, 1000, 'the subscription closed')).toEqual({ code: 4403, reason: 'the API token was revoked' });
        expect(Date.now() - revoked).toBeLessThan(1000);
        const after = await change();
        await new Promise((res) => setTimeout(res, 500));
        expect(delivered(s, after)).toBe(false);
      } finally {
        await s.dispose();
      }
    });

    it('closes it on another instance too, which also refuses the token over HTTP at once', async () => {
      const second: RunningApp = await startApp({ api: true, ingest: false }, { env: app.env, logger: false });
      const t = await bearer('sub-elsewhere', 'viewer');
      const s = subscribe(second.url, t.token, ALL);
      try {
        await new Promise((r) => setTimeout(r, 300));
        // The second instance has the token in its lookup cache (10 s) from here on.
        expect((await gql(second.url, '{ customer(id: "H-1") { id } }', {}, t.headers)).errors).toBeUndefined();
        await gql(app.url, 'mutation($id: ID!) { revokeApiToken(id: $id) }', { id: t.id }, admin);
        expect((await within(s.closed, 1000, 'the subscription on the second instance closed')).code).toBe(4403);
        expect(code(await gql(second.url, '{ customer(id: "H-1") { id } }', {}, t.headers))).toBe('UNAUTHENTICATED');
      } finally {
        await s.dispose();
        await second.close();
      }
    });

    it('closes it within the check interval when the revocation was not announced (revoked in SQL)', async () => {
      const t = await bearer('sub-sql', 'viewer');
      const s = subscribe(app.url, t.token, ALL);
      try {
        await new Promise((r) => setTimeout(r, 300));
        const before = await change();
        await waitFor(async () => delivered(s, before), 'a change while the token is valid');
        await app.db.query('UPDATE api_token SET revoked_at = now() WHERE id = $1', [t.id]);
        expect((await within(s.closed, CHECK_MS + 1000, 'the subscription closed by the periodic check')).code).toBe(4403);
      } finally {
        await s.dispose();
      }
    });
  });
});

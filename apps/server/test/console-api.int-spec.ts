import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { parse, stringify } from 'yaml';
import { startApp } from '@app/bootstrap';
import { ApiTokenService } from '@app/access';
import { BILLING, CRM, gql, TestApp, waitFor } from '@app/testing';

/** What the console relies on without a browser: how its files are served, GraphiQL offline, and the GraphQL it adds. */
describe('the console’s serving and API', () => {
  let app: TestApp;
  let analyst: Record<string, string>;
  let viewer: Record<string, string>;

  beforeAll(async () => {
    app = await TestApp.start({ ALLOW_ANONYMOUS_READS: 'false' });
    const tokens = app.running.app.get(ApiTokenService);
    analyst = { authorization: `Bearer ${(await tokens.create('ana', 'analyst', 'test')).token}` };
    viewer = { authorization: `Bearer ${(await tokens.create('vic', 'viewer', 'test')).token}` };
  });
  afterAll(() => app.stop());

  it('serves the built console: index.html revalidated, hashed assets cached for a year', async () => {
    const bare = await fetch(`${app.url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
    const index = await fetch(`${app.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2); // the script and the stylesheet
    for (const asset of assets) {
      expect(asset).toMatch(/^\/console\/assets\/[\w.-]+-[\w-]{8}\.(js|css)$/); // local, with a content hash
      const res = await fetch(`${app.url}${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
  });

  it('serves GraphiQL from local files only, and its introspection query passes the depth limit', async () => {
    const page = await fetch(`${app.url}/graphiql`);
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBe(5);
    for (const ref of refs) {
      expect(ref).toMatch(/^\/graphiql\//);
      expect((await fetch(`${app.url}${ref}`)).status).toBe(200);
    }
    const introspection = await gql<{ __schema: { types: unknown[] } }>(app.url, getIntrospectionQuery(), {}, viewer);
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data?.__schema.types.length).toBeGreaterThan(20);
  });

  it('tells who is signed in', async () => {
    expect((await gql(app.url, '{ me { name } }')).data).toEqual({ me: null });
    const bad = await gql(app.url, '{ me { name } }', {}, { authorization: 'Bearer nope' });
    expect(bad.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(app.url, '{ me { name role } }', {}, analyst)).data).toEqual({ me: { name: 'ana', role: 'ANALYST' } });
  });

  it('lists every instance with the rule set version it evaluates with, from their heartbeats', async () => {
    type Instances = { instances: Array<{ id: string; parts: string[]; ruleSetVersion: number }> };
    const list = async () => (await gql<Instances>(app.url, '{ instances { id parts ruleSetVersion } }', {}, viewer)).data!.instances;
    expect(await list()).toEqual([expect.objectContaining({ parts: ['api', 'ingest'], ruleSetVersion: 1 })]);
    const second = await startApp({ api: true, ingest: false }, { env: app.env, logger: false });
    try {
      await waitFor(async () => (await list()).length === 2, 'the second instance listed');
      expect((await list()).map((i) => i.parts).sort()).toEqual([['api'], ['api', 'ingest']]);
    } finally {
      await second.close();
    }
    expect((await list()).map((i) => i.parts)).toEqual([['api', 'ingest']]); // removed as it stopped
    // An entry that is not a heartbeat (written by hand, or by an older version) is left out and removed.
    const key = `${app.env.redis.prefix}instances`;
    await app.redis.hset(key, 'bogus', 'not json');
    expect(await list()).toHaveLength(1);
    expect(await app.redis.hexists(key, 'bogus')).toBe(0);
  });

  it("explains a customer under a draft: the rules that would fire, for analysts only", async () => {
    await app.event(CRM, 'c', null, { id: 7, customer_no: 'X-7', email: null, status: 'ACTIVE', updated_at: 1 });
    await app.event(BILLING, 'c', null, { account_id: 7, cust_ref: 'X-7', state: 2, balance_cents: 0, modified: 1 });
    await waitFor(async () => (await gql<{ customer: { status: string } | null }>(app.url, '{ customer(id: "X-7") { status } }', {}, viewer)).data?.customer?.status === 'SUSPENDED', 'X-7 projected');
    const doc = parse(readFileSync(join(__dirname, '../../../config/rules.yaml'), 'utf8')) as any;
    doc.mappings.billing.rules[2] = { id: 'billing-suspended-closes', description: 'Suspended accounts are closed', when: { state: 2 }, then: 'CLOSED' };
    const draft = await gql<{ createRuleSetDraft: { version: number } }>(app.url, 'mutation($d: String!) { createRuleSetDraft(document: $d) { version } }', { d: stringify(doc) }, analyst);
    const v = draft.data!.createRuleSetDraft.version;
    const q = 'query($v: Int) { customer(id: "X-7") { status explanation(version: $v) { ruleSetVersion sources { system rule status description } resolution { rule status } } } }';
    const today = await gql<any>(app.url, q, { v: null }, viewer);
    expect(today.data.customer.explanation).toMatchObject({ ruleSetVersion: 1, resolution: { rule: 'suspended', status: 'SUSPENDED' } });
    const under = await gql<any>(app.url, q, { v }, analyst);
    expect(under.errors).toBeUndefined();
    expect(under.data.customer).toMatchObject({
      status: 'SUSPENDED', // nothing changed: it is only explained
      explanation: {
        ruleSetVersion: v,
        sources: expect.arrayContaining([{ system: 'billing', rule: 'billing-suspended-closes', status: 'CLOSED', description: 'Suspended accounts are closed' }]),
        resolution: { rule: 'closed', status: 'CLOSED' },
      },
    });
    expect((await gql(app.url, q, { v }, viewer)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('diffs two versions rule by rule, allowed values included, for analysts only', async () => {
    const doc = parse(readFileSync(join(__dirname, '../../../config/rules.yaml'), 'utf8')) as any;
    doc.mappings.crm.inputs.status.allowed.push('LEAD');
    const draft = await gql<{ createRuleSetDraft: { version: number } }>(app.url, 'mutation($d: String!) { createRuleSetDraft(document: $d) { version } }', { d: stringify(doc) }, analyst);
    const v = draft.data!.createRuleSetDraft.version;
    const q = 'query($v: Int!) { ruleSetDiff(from: 1, to: $v) { empty lines tables { table inputs { name change allowedAdded allowedRemoved } rows { id } } } }';
    expect((await gql(app.url, q, { v }, viewer)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const r = await gql(app.url, q, { v }, analyst);
    expect(r.data).toEqual({
      ruleSetDiff: {
        empty: false,
        lines: ['~ mappings.crm: input status (allowed + "LEAD")'],
        tables: [{ table: 'mappings.crm', inputs: [{ name: 'status', change: 'CHANGED', allowedAdded: ['"LEAD"'], allowedRemoved: [] }], rows: [] }],
      },
    });
    expect((await gql(app.url, '{ ruleSetDiff(from: 1, to: 999) { empty } }', {}, analyst)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startApp, RunningApp } from '@app/bootstrap';
import { ReprojectionService, RuleSetRepository } from '@app/projection';
import { ApiTokenService } from '@app/access';
import { BILLING, CRM, gql, overdueSuspends, PORTAL, TestApp, waitFor } from '@app/testing';

/** Analysts own the rules: validation, preview, publish, roll back, every instance switching, roles. */
const reference = parse(readFileSync(join(__dirname, '../../../config/rules.yaml'), 'utf8')) as Record<string, any>;
const clone = (): Record<string, any> => JSON.parse(JSON.stringify(reference));


type Problem = { path: string; message: string; severity: string };

describe('rule management', () => {
  let app: TestApp;
  let analyst: Record<string, string>;
  let viewer: Record<string, string>;
  let admin: Record<string, string>;
  const N = 60;

  beforeAll(async () => {
    app = await TestApp.start({ ALLOW_ANONYMOUS_READS: 'false' });
    const tokens = app.running.app.get(ApiTokenService);
    const bearer = async (name: string, role: 'viewer' | 'analyst' | 'admin') => ({ authorization: `Bearer ${(await tokens.create(name, role, 'test')).token}` });
    analyst = await bearer('ana', 'analyst');
    viewer = await bearer('vic', 'viewer');
    admin = await bearer('adam', 'admin');
    // N customers: crm ACTIVE, billing overdue for every third, normal otherwise; a few only in the portal.
    for (let i = 0; i < N; i++) {
      const no = `R-${String(i).padStart(3, '0')}`;
      await app.event(CRM, 'c', null, { id: i, customer_no: no, email: null, status: 'ACTIVE', updated_at: 1 });
      await app.event(BILLING, 'c', null, { account_id: i, cust_ref: no, state: i % 3 === 0 ? 1 : 0, balance_cents: 0, modified: 1 });
    }
    await app.event(PORTAL, 'c', null, { user_id: '20000000-0000-4000-8000-000000000001', customer_no: 'R-PORTAL', registered_at: '2024-01-01T00:00:00Z', first_login_at: null, locked: false });
    await app.event(CRM, 'c', null, { id: 999, customer_no: 'R-LEAD', email: null, status: 'LEAD', updated_at: 1 });
    await waitFor(async () => {
      const r = await gql<{ statusCounts: Array<{ status: string; count: number }> }>(app.url, '{ statusCounts { status count } }', {}, viewer);
      return r.data?.statusCounts.reduce((n, c) => n + c.count, 0) === N + 2;
    }, 'all customers projected');
  });
  afterAll(() => app.stop());

  const validate = async (doc: unknown): Promise<Problem[]> => {
    const r = await gql<{ validateRuleSet: Problem[] }>(app.url, 'query($d: String!) { validateRuleSet(document: $d) { path message severity } }', { d: stringify(doc) }, analyst);
    expect(r.errors).toBeUndefined();
    return r.data!.validateRuleSet;
  };
  const draft = async (doc: unknown, comment = 'test draft'): Promise<number> => {
    const r = await gql<{ createRuleSetDraft: { version: number; state: string } }>(
      app.url,
      'mutation($d: String!, $c: String) { createRuleSetDraft(document: $d, comment: $c) { version state } }',
      { d: stringify(doc), c: comment },
      analyst,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.createRuleSetDraft.state).toBe('DRAFT');
    return r.data!.createRuleSetDraft.version;
  };
  const publish = async (version: number, mutation = 'publishRuleSet') => {
    const r = await gql<Record<string, { fromVersion: number; toVersion: number; reprojection: { id: string } }>>(
      app.url,
      `mutation($v: Int!) { ${mutation}(version: $v, comment: "because tests") { fromVersion toVersion reprojection { id } } }`,
      { v: version },
      analyst,
    );
    expect(r.errors).toBeUndefined();
    const { reprojection } = r.data![mutation];
    await waitFor(async () => {
      const p = await gql<{ reprojection: { state: string } }>(app.url, 'query($id: ID) { reprojection(id: $id) { state } }', { id: reprojection.id }, analyst);
      return p.data?.reprojection.state === 'DONE';
    }, 'reprojection done');
    return r.data![mutation];
  };
  const customers = async () => {
    const ids = [...Array.from({ length: N }, (_, i) => `R-${String(i).padStart(3, '0')}`), 'R-PORTAL', 'R-LEAD'];
    const r = await gql<{ customers: Array<{ id: string; status: string; reason: string; updatedAt: string; statusSince: string }> }>(
      app.url,
      'query($ids: [ID!]!) { customers(ids: $ids) { id status reason updatedAt statusSince } }',
      { ids },
      viewer,
    );
    return new Map(r.data!.customers.map((c) => [c.id, c]));
  };

  describe('validation', () => {
    it('passes the reference rule set; the only remark is the stored value no rule maps', async () => {
      expect(await validate(clone())).toEqual([
        { path: 'mappings.crm', severity: 'WARNING', message: '1 stored crm record(s) with status="LEAD" are mapped only by the fallback crm-other' },
      ]);
    });

    it.each<[string, (rs: Record<string, any>) => void, string, RegExp, string]>([
      ['a status outside the vocabulary', (rs) => (rs.mappings.crm.rules[0].then = 'PROSPECTIVE'), 'mappings.crm.rules[0].then', /not a canonical status/, 'ERROR'],
      ['a schema error', (rs) => (rs.resolution.rules[0].when = 'always'), 'resolution.rules[0].when', /.+/, 'ERROR'],
      ['a field no source defines', (rs) => (rs.mappings.crm.inputs.tier = { type: 'string' }), 'mappings.crm.inputs.tier', /no field "tier"/, 'ERROR'],
      ['a system no source defines', (rs) => (rs.mappings.erp = rs.mappings.crm), 'mappings.erp', /no source defines a system "erp"/, 'ERROR'],
      [
        'a rule that can never fire',
        (rs) => rs.mappings.billing.rules.splice(2, 0, { id: 'billing-overdue-again', description: 'shadowed', when: { state: 1 }, then: 'CLOSED' }),
        'mappings.billing.rules[2]',
        /billing-overdue-again can never fire.*billing-overdue/,
        'ERROR',
      ],
      [
        'overlapping rows under UNIQUE',
        (rs) => {
          rs.mappings.crm.hitPolicy = 'UNIQUE';
          rs.mappings.crm.rules.splice(1, 0, { id: 'crm-prospect-too', description: 'overlaps', when: { status: { in: ['PROSPECT', 'ACTIVE'] } }, then: 'PENDING' });
        },
        'mappings.crm',
        /crm-prospect.*crm-prospect-too|crm-prospect-too.*crm-prospect/,
        'ERROR',
      ],
      ['an allowed value no row covers but the fallback', (rs) => rs.mappings.billing.rules.splice(3, 1), 'mappings.billing', /9/, 'WARNING'],
      ['a failing example', (rs) => (rs.examples.mappings[0].expect.status = 'ACTIVE'), 'examples.mappings[0]', /should map to ACTIVE/, 'ERROR'],
      // A 33rd status would share a bit with the first: refused, not resolved wrongly.
      ['a 33rd status', (rs) => rs.statuses.push(...Array.from({ length: 26 }, (_, i) => `EXTRA_${i}`)), 'statuses', /^at most 32 canonical statuses .* has 33$/, 'ERROR'],
      // A status is the routing key of its change messages: RabbitMQ takes at most 255 bytes.
      ['a status name RabbitMQ cannot route', (rs) => rs.statuses.push('É'.repeat(128)), 'statuses[7]', /at most 255 bytes in UTF-8.* is 256/, 'ERROR'],
      ['a status name with a control character', (rs) => rs.statuses.push('NEW\nLINE'), 'statuses[7]', /control, format or separator characters/, 'ERROR'],
    ])('reports %s at its path', async (_name, mutate, path, message, severity) => {
      const rs = clone();
      mutate(rs);
      const problems = await validate(rs);
      expect(problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.stringContaining(path), message: expect.stringMatching(message), severity })]));
    });

    it('reports raw values already stored that only the fallback maps, with counts', async () => {
      const rs = clone();
      rs.mappings.crm.rules.splice(1, 1); // no rule for ACTIVE any more
      rs.examples.mappings.splice(1, 1);
      rs.examples.resolution = [];
      const found = await validate(rs);
      expect(found).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: 'mappings.crm', severity: 'WARNING', message: expect.stringMatching(new RegExp(`^${N} stored crm record\\(s\\) with status="ACTIVE".*fallback crm-other`)) }),
          expect.objectContaining({ path: 'mappings.crm', message: expect.stringMatching(/^1 stored crm record\(s\) with status="LEAD"/) }),
        ]),
      );
    });
  });

  it('two analysts saving one draft: the save based on an older checksum is refused with DRAFT_CHANGED, never overwriting unseen', async () => {
    const v = await draft(clone(), 'shared draft');
    const read = async () =>
      (await gql<{ ruleSetVersion: { checksum: string; comment: string; document: string } }>(app.url, 'query($v: Int!) { ruleSetVersion(version: $v) { checksum comment document } }', { v }, analyst)).data!
        .ruleSetVersion;
    const loaded = (await read()).checksum;
    const save = (doc: unknown, expected: string | null) =>
      gql<{ updateRuleSetDraft: { checksum: string } }>(
        app.url,
        'mutation($v: Int!, $d: String!, $e: String) { updateRuleSetDraft(version: $v, document: $d, expectedChecksum: $e) { checksum } }',
        { v, d: stringify(doc), e: expected },
        analyst,
      );
    const edited = (description: string) => {
      const rs = clone();
      rs.mappings.crm.rules[0].description = description;
      return rs;
    };
    // Both loaded the same draft and save at once: exactly one of them is written.
    const [a, b] = await Promise.all([save(edited('by A'), loaded), save(edited('by B'), loaded)]);
    const outcomes = [a, b].map((r) => (r.errors ? r.errors[0].extensions?.code : 'saved'));
    expect(outcomes.sort()).toEqual(['DRAFT_CHANGED', 'saved']);
    const refused = (a.errors ? a : b).errors![0];
    expect(refused.message).toMatch(new RegExp(`draft version ${v} was saved by someone else since you loaded it.*reload it`));
    const winner = a.errors ? 'by B' : 'by A';
    const stored = await read();
    expect(stored.document).toContain(winner);
    expect(stored.checksum).toBe((a.errors ? b : a).data!.updateRuleSetDraft.checksum);
    // The loser reloads and saves again on the stored checksum: accepted.
    const again = await save(edited('by both'), stored.checksum);
    expect(again.errors).toBeUndefined();
    // Without expectedChecksum (scripts, the CLI): the last write wins, as before.
    expect((await save(edited('by a script'), null)).errors).toBeUndefined();
    expect((await read()).document).toContain('by a script');
    // A save retried after its answer was lost (same document, the checksum from before it): accepted, not taken for someone else's.
    const before = (await read()).checksum;
    expect((await save(edited('retried'), before)).errors).toBeUndefined();
    expect((await save(edited('retried'), before)).errors).toBeUndefined();

    // Publishing what was previewed: refused when the draft was saved since, and nothing goes active.
    const previewed = (await read()).checksum;
    expect((await save(edited('saved after the preview'), previewed)).errors).toBeUndefined();
    const publish = (expected: string) =>
      gql(app.url, 'mutation($v: Int!, $e: String) { publishRuleSet(version: $v, comment: "as previewed", expectedChecksum: $e) { toVersion } }', { v, e: expected }, analyst);
    const stale = await publish(previewed);
    expect(stale.errors?.[0]).toMatchObject({ extensions: { code: 'DRAFT_CHANGED' }, message: expect.stringMatching(/since you previewed it.*nothing was published/) });
    const active = async () => (await gql<{ activeRuleSet: { version: number } }>(app.url, '{ activeRuleSet { version } }', {}, viewer)).data!.activeRuleSet.version;
    expect(await active()).not.toBe(v);
    // The switch itself goes through only for the document that was validated: one saved during the validation is not published.
    const repository = app.running.app.get(RuleSetRepository);
    expect(await repository.activate(v, 'ana', 'publish', 'validated another document', previewed)).toBeNull();
    expect((await repository.get(v))!.state).toBe('draft');
    expect(await active()).not.toBe(v);
  });

  it('blocks publishing a version whose example fails, and keeps the active version', async () => {
    const rs = clone();
    rs.examples.resolution[0].expect.reason = 'suspended';
    const v = await draft(rs);
    const r = await gql(app.url, 'mutation($v: Int!) { publishRuleSet(version: $v, comment: "no") { toVersion } }', { v }, analyst);
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'INVALID_RULE_SET' } });
    expect(r.errors?.[0].message).toMatch(/examples\.resolution\[0\]/);
    const active = await gql<{ activeRuleSet: { version: number } }>(app.url, '{ activeRuleSet { version } }', {}, viewer);
    expect(active.data?.activeRuleSet.version).toBe(1);
  });

  it('previews exactly what publishing then does, reprojects the affected customers and leaves the others untouched; rollback too', async () => {
    const v = await draft(overdueSuspends(), 'overdue suspends');
    const preview = await gql<{ ruleSetPreview: { customers: number; moving: number; cells: Array<{ from: string; to: string; count: number; sample: string[] }> } }>(
      app.url,
      'query($v: Int!) { ruleSetPreview(version: $v, sampleSize: 3) { customers moving cells { from to count sample } } }',
      { v },
      analyst,
    );
    expect(preview.errors).toBeUndefined();
    const overdue = Math.ceil(N / 3);
    expect(preview.data!.ruleSetPreview).toEqual({ customers: N + 2, moving: overdue, cells: [{ from: 'AT_RISK', to: 'SUSPENDED', count: overdue, sample: ['R-000', 'R-003', 'R-006'] }] });

    const before = await customers();
    const result = await publish(v);
    expect(result).toMatchObject({ fromVersion: 1, toVersion: v });
    const after = await customers();
    for (const [id, c] of after) {
      const old = before.get(id)!;
      if (Number(id.slice(2)) % 3 === 0) expect(c).toMatchObject({ status: 'SUSPENDED', reason: 'suspended' });
      else expect(c).toEqual(old); // untouched: same status, reason, statusSince, updatedAt
    }
    const history = await app.db.query(
      'SELECT from_status, to_status, count(*)::int AS n FROM status_history WHERE rule_set_version = $1 GROUP BY 1, 2',
      [v],
    );
    expect(history).toEqual(preview.data!.ruleSetPreview.cells.map((c) => ({ from_status: c.from, to_status: c.to, n: c.count })));
    const explained = await gql<{ customer: { explanation: { ruleSetVersion: number; sources: Array<{ system: string; rule: string; inputs: Array<{ field: string; value: string }> }>; resolution: { rule: string } } } }>(
      app.url,
      '{ customer(id: "R-003") { explanation { ruleSetVersion sources { system rule inputs { field value } } resolution { rule description } } } }',
      {},
      viewer,
    );
    expect(explained.data?.customer.explanation).toMatchObject({
      ruleSetVersion: v,
      sources: expect.arrayContaining([{ system: 'billing', rule: 'billing-overdue-suspends', inputs: [{ field: 'state', value: '1' }] }]),
      resolution: { rule: 'suspended' },
    });

    const back = await publish(1, 'rollbackRuleSet');
    expect(back).toMatchObject({ fromVersion: v, toVersion: 1 });
    const rolledBack = await customers();
    for (const [id, c] of rolledBack) {
      if (Number(id.slice(2)) % 3 === 0) expect(c).toMatchObject({ status: 'AT_RISK', reason: 'at-risk' });
      else expect(c).toEqual(before.get(id));
    }
    const audit = await gql<{ ruleSetAudit: Array<{ action: string; fromVersion: number; toVersion: number; actor: string; comment: string }> }>(
      app.url,
      '{ ruleSetAudit { action fromVersion toVersion actor comment } }',
      {},
      analyst,
    );
    expect(audit.data?.ruleSetAudit.slice(0, 2)).toEqual([
      { action: 'rollback', fromVersion: v, toVersion: 1, actor: expect.stringMatching(/^ana \(token \d+\)$/), comment: 'because tests' },
      { action: 'publish', fromVersion: 1, toVersion: v, actor: expect.stringMatching(/^ana \(token \d+\)$/), comment: 'because tests' },
    ]);
  });

  it('switches a second instance within a second of the publish, visible in /health', async () => {
    const second: RunningApp = await startApp({ api: true, ingest: false }, { env: app.env, logger: false });
    try {
      const v = await draft(overdueSuspends(), 'for the second instance');
      const health = async (url: string) => ((await (await fetch(`${url}/health`)).json()) as { details: { ruleSet: { version: number; checksum: string } } }).details.ruleSet;
      expect((await health(second.url)).version).toBe(1);
      const started = Date.now();
      const r = await gql(app.url, 'mutation($v: Int!) { publishRuleSet(version: $v, comment: "now") { toVersion } }', { v }, analyst);
      expect(r.errors).toBeUndefined();
      await waitFor(async () => (await health(second.url)).version === v, 'second instance on the new version', 1000);
      expect(Date.now() - started).toBeLessThan(1500);
      expect((await health(second.url)).checksum).toBe((await health(app.url)).checksum);
      await publish(1, 'rollbackRuleSet');
    } finally {
      await second.close();
    }
  });

  it('never shows a reader an error or a customer evaluated by a mix of two versions during reprojection', async () => {
    const v = await draft(overdueSuspends(), 'readers');
    let reading = true;
    const seen: string[] = [];
    const reader = (async () => {
      while (reading) {
        const r = await gql<{ customers: Array<{ status: string; sources: Array<{ system: string; rule: string }>; explanation: { ruleSetVersion: number } }> }>(
          app.url,
          'query($ids: [ID!]!) { customers(ids: $ids) { status sources { system rule } explanation { ruleSetVersion } } }',
          { ids: ['R-000', 'R-003', 'R-030', 'R-057'] },
          viewer,
        );
        if (r.errors) seen.push(`error: ${r.errors[0].message}`);
        for (const c of r.data?.customers ?? []) {
          const billingRule = c.sources.find((s) => s.system === 'billing')!.rule;
          const consistent =
            (billingRule === 'billing-overdue' && c.status === 'AT_RISK') || (billingRule === 'billing-overdue-suspends' && c.status === 'SUSPENDED');
          if (!consistent) seen.push(`mixed: ${billingRule} with ${c.status}`);
        }
      }
    })();
    await publish(v);
    await publish(1, 'rollbackRuleSet');
    reading = false;
    await reader;
    expect(seen).toEqual([]);
  });

  it('resumes a reprojection whose instance died, from its last committed batch', async () => {
    const v = await draft(overdueSuspends(), 'abandoned');
    // A publish whose process died right after the switch: the job row is running, its heartbeat old.
    const repository = app.running.app.get(RuleSetRepository);
    await repository.activate(v, 'ana', 'publish', 'died', (await repository.get(v))!.checksum);
    const [job] = await app.db.query(
      `INSERT INTO reprojection (version, state, total, heartbeat_at) SELECT $1, 'running', count(*), now() - interval '1 minute' FROM customer RETURNING id`,
      [v],
    );
    const reprojection = app.running.app.get(ReprojectionService);
    await reprojection.resumeAbandoned();
    await reprojection.wait(String(job.id));
    expect(await reprojection.progress(String(job.id))).toMatchObject({ state: 'done', processed: N + 2, changed: Math.ceil(N / 3) });
    expect((await customers()).get('R-003')).toMatchObject({ status: 'SUSPENDED' });
    await publish(1, 'rollbackRuleSet');
  });

  describe('roles', () => {
    const read = '{ customer(id: "R-001") { id } }';
    it.each<[string, () => Record<string, string>, string, string | null]>([
      ['anonymous reads when they are off', () => ({}), read, 'UNAUTHENTICATED'],
      ['an invalid token', () => ({ authorization: 'Bearer sv_nope' }), read, 'UNAUTHENTICATED'],
      ['a viewer reading', () => viewer, read, null],
      ['anonymous reading the last reconcile report', () => ({}), '{ lastReconcileReport { system } }', 'UNAUTHENTICATED'],
      ['a viewer reading the last reconcile report', () => viewer, '{ lastReconcileReport { system } }', null],
      ['a viewer drafting', () => viewer, 'mutation { createRuleSetDraft(document: "{}") { version } }', 'FORBIDDEN'],
      ['an analyst listing versions', () => analyst, '{ ruleSetVersions { version } }', null],
      ['an analyst managing tokens', () => analyst, '{ apiTokens { id } }', 'FORBIDDEN'],
      ['an admin managing tokens', () => admin, '{ apiTokens { id name role } }', null],
    ])('%s', async (_name, headers, query, code) => {
      const r = await gql(app.url, query, {}, headers());
      if (code === null) expect(r.errors).toBeUndefined();
      else expect(r.errors?.[0].extensions?.code).toBe(code);
    });

    it('lets an admin create and revoke tokens; a revoked token stops working', async () => {
      const created = await gql<{ createApiToken: { token: string; apiToken: { id: string; role: string } } }>(
        app.url,
        'mutation { createApiToken(name: "temp", role: VIEWER) { token apiToken { id role } } }',
        {},
        admin,
      );
      const { token, apiToken } = created.data!.createApiToken;
      expect(apiToken.role).toBe('VIEWER');
      expect((await gql(app.url, read, {}, { authorization: `Bearer ${token}` })).errors).toBeUndefined();
      const stored = await app.db.query('SELECT token_hash FROM api_token WHERE id = $1', [apiToken.id]);
      expect(stored[0].token_hash).not.toContain(token);
      await gql(app.url, 'mutation($id: ID!) { revokeApiToken(id: $id) }', { id: apiToken.id }, admin);
      expect((await gql(app.url, read, {}, { authorization: `Bearer ${token}` })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });
  });
});

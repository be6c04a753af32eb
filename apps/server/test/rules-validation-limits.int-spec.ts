import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ApiTokenService } from '@app/access';
import { gql, TestApp } from '@app/testing';

/** A large rule set is validated off the event loop, within limits that each have a clear error. */
const reference = parse(readFileSync(join(__dirname, '../../../config/rules.yaml'), 'utf8')) as Record<string, any>;

/** The reference rule set with `rows` more crm rows (legacy codes), as compact JSON text (YAML reads JSON). */
function withCodes(rows: number): string {
  const doc = structuredClone(reference);
  delete doc.mappings.crm.inputs.status.allowed;
  const codes = Array.from({ length: rows }, (_, i) => ({ id: `c${i}`, description: 'd', when: { status: `C${i}` }, then: 'ACTIVE' }));
  doc.mappings.crm.rules.splice(doc.mappings.crm.rules.length - 1, 0, ...codes);
  return JSON.stringify(doc);
}

type Problem = { path: string; message: string; severity: string };

describe('rule set validation limits', () => {
  let app: TestApp;
  let analyst: Record<string, string>;

  beforeAll(async () => {
    app = await TestApp.start({ ALLOW_ANONYMOUS_READS: 'false' });
    analyst = { authorization: `Bearer ${(await app.running.app.get(ApiTokenService).create('ana', 'analyst', 'test')).token}` };
  });
  afterAll(() => app.stop());

  const validate = (document: string, url = app.url) =>
    gql<{ validateRuleSet: Problem[] }>(url, 'query($d: String!) { validateRuleSet(document: $d) { path message severity } }', { d: document }, analyst);

  /** Latencies of /health/live, asked every 20 ms until `work` settles. */
  async function livenessDuring<T>(work: Promise<T>): Promise<{ result: T; latencies: number[] }> {
    let settled = false;
    const done = work.finally(() => (settled = true));
    const latencies: number[] = [];
    while (!settled) {
      const asked = Date.now();
      const res = await fetch(`${app.url}/health/live`);
      expect(res.status).toBe(200);
      latencies.push(Date.now() - asked);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { result: await done, latencies };
  }

  it('keeps /health/live answering quickly while a rule set at the row limit is validated', async () => {
    const text = withCodes(4990);
    expect(Buffer.byteLength(text)).toBeLessThan(512 * 1024);
    await validate(JSON.stringify(reference)); // the analysis thread is started
    const started = Date.now();
    const { result, latencies } = await livenessDuring(validate(text));
    expect(result.errors).toBeUndefined();
    expect(result.data!.validateRuleSet.filter((p) => p.severity === 'ERROR')).toEqual([]);
    expect(result.data!.validateRuleSet).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'mappings.crm.rules[4993]', message: expect.stringMatching(/^rule c4989 has no example/) })]));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(latencies.length).toBeGreaterThan(3);
    expect(Math.max(...latencies)).toBeLessThan(500);
  });

  it('refuses a document over 512 KiB before reading it, with the sizes', async () => {
    const text = withCodes(4990) + ' '.repeat(200 * 1024);
    const started = Date.now();
    const r = await validate(text);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r.errors?.[0]).toMatchObject({
      message: `the rule set document is ${Buffer.byteLength(text)} bytes; a rule set is at most 524288 bytes (512 KiB) of YAML or JSON`,
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('refuses more rows than a table may have, at the table, without analyzing it', async () => {
    const r = await validate(withCodes(5000));
    expect(r.errors).toBeUndefined();
    expect(r.data!.validateRuleSet).toEqual([{ path: 'mappings.crm.rules', severity: 'ERROR', message: 'at most 5000 rules in a table; this has 5005' }]);
    // Nothing was analyzed: no claim about any row.
  });

  it('refuses a comment over 1000 characters', async () => {
    const r = await gql(app.url, 'mutation($d: String!, $c: String) { createRuleSetDraft(document: $d, comment: $c) { version } }', { d: JSON.stringify(reference), c: 'x'.repeat(1001) }, analyst);
    expect(r.errors?.[0]).toMatchObject({ message: 'a comment is at most 1000 characters; this one is 1001', extensions: { code: 'BAD_USER_INPUT' } });
  });

  /** Another service on the same servers, with its own settings, and an analyst token for it. */
  async function withService(env: Record<string, string>, fn: (ask: (document: string) => ReturnType<typeof validate>) => Promise<void>): Promise<void> {
    const other = await TestApp.start({ ALLOW_ANONYMOUS_READS: 'false', ...env });
    try {
      const token = { authorization: `Bearer ${(await other.running.app.get(ApiTokenService).create('ana', 'analyst', 'test')).token}` };
      await fn((document) => gql<{ validateRuleSet: Problem[] }>(other.url, 'query($d: String!) { validateRuleSet(document: $d) { path message severity } }', { d: document }, token));
      // The service itself goes on.
      expect((await fetch(`${other.url}/health/live`)).status).toBe(200);
    } finally {
      await other.stop();
    }
  }

  it('stops a validation that takes longer than RULES_ANALYSIS_TIMEOUT_MS', async () => {
    await withService({ RULES_ANALYSIS_TIMEOUT_MS: '200' }, async (ask) => {
      const r = await ask(withCodes(4990));
      expect(r.errors?.[0]).toMatchObject({ message: 'the validation took more than 200 ms (RULES_ANALYSIS_TIMEOUT_MS) and was stopped', extensions: { code: 'ANALYSIS_UNAVAILABLE' } });
    });
  });

  it('refuses a validation when RULES_ANALYSIS_QUEUE are waiting already, and serves the others', async () => {
    await withService({ RULES_ANALYSIS_QUEUE: '1' }, async (ask) => {
      expect((await ask(JSON.stringify(reference))).errors).toBeUndefined(); // the analysis thread is up
      const big = ask(withCodes(4990));
      await new Promise((r) => setTimeout(r, 150)); // the large one is on the thread (its analysis takes a second or so)
      const waiting = ask(JSON.stringify(reference));
      await new Promise((r) => setTimeout(r, 50));
      const refused = await ask(JSON.stringify(reference));
      expect(refused.errors?.[0]).toMatchObject({
        message: 'the queue of rule set validations is full (RULES_ANALYSIS_QUEUE=1 waiting); try again in a moment',
        extensions: { code: 'ANALYSIS_UNAVAILABLE' },
      });
      expect((await big).errors).toBeUndefined();
      expect((await waiting).errors).toBeUndefined();
      expect((await ask(JSON.stringify(reference))).errors).toBeUndefined();
    });
  });
});

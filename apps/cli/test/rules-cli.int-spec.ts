import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CRM, gql, TestApp, waitFor } from '@app/testing';

/** `rules validate|diff|publish|export` and `tokens create` through the built CLI, on the real servers. */
const CLI = join(__dirname, '../../../dist/apps/cli/src/main.js');
const reference = readFileSync(join(__dirname, '../../../config/rules.yaml'), 'utf8');

/** The reference rule set with `rows` more crm rows (legacy codes), as compact JSON (YAML reads JSON). */
function withCodes(rows: number): string {
  const doc = parse(reference) as Record<string, any>;
  delete doc.mappings.crm.inputs.status.allowed;
  const codes = Array.from({ length: rows }, (_, i) => ({ id: `c${i}`, description: 'd', when: { status: `C${i}` }, then: 'ACTIVE' }));
  doc.mappings.crm.rules.splice(doc.mappings.crm.rules.length - 1, 0, ...codes);
  return JSON.stringify(doc);
}

describe('rules CLI', () => {
  let app: TestApp;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'statusview-rules-'));
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      // With the heap `npm run cli` gives it.
      execFile(process.execPath, ['--max-old-space-size=128', CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const file = (name: string, doc: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, typeof doc === 'string' ? doc : stringify(doc));
    return f;
  };

  beforeAll(async () => {
    app = await TestApp.start();
    env = { DATABASE_URL: app.env.database.url, REDIS_URL: app.env.redis.url, REDIS_PREFIX: app.env.redis.prefix, OUTBOX_RELAY: 'false' };
    await app.event(CRM, 'c', null, { id: 1, customer_no: 'CLI-1', email: null, status: 'DORMANT', updated_at: 1 });
    await waitFor(async () => (await gql<{ customer: { status: string } | null }>(app.url, '{ customer(id: "CLI-1") { status } }')).data?.customer?.status === 'INACTIVE', 'CLI-1');
  });
  afterAll(() => app.stop());

  it('validates a file: problems with their paths, exit 1 on errors, 0 otherwise', async () => {
    const ok = await cli('rules', 'validate', file('ok.yaml', reference));
    expect(ok.code).toBe(0);
    const bad = parse(reference) as Record<string, any>;
    bad.mappings.crm.rules[2].then = 'ASLEEP';
    const r = await cli('rules', 'validate', file('bad.yaml', bad));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error\s+mappings\.crm\.rules\[2\]\.then: "ASLEEP" is not a canonical status/);
    const json = await cli('rules', 'validate', file('bad.yaml', bad), '--format', 'json');
    expect(JSON.parse(json.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'mappings.crm.rules[2].then', severity: 'error' })]));
    const missing = await cli('rules', 'validate', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: ENOENT/);
  });

  it('prints names from the rule set with their control characters escaped: no forged lines, no terminal escapes', async () => {
    const bad = parse(reference) as Record<string, any>;
    bad.mappings.crm.rules[2].then = 'ASLEEP\nerror   mappings.crm.rules[0].then: forged\u001b[2K';
    const r = await cli('rules', 'validate', file('forged.yaml', bad));
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout.split('\n').filter((line) => line.includes('forged'))).toEqual([
      expect.stringMatching(/^error\s+mappings\.crm\.rules\[2\]\.then: "ASLEEP\\nerror   mappings\.crm\.rules\[0\]\.then: forged\\u001b\[2K" is not a canonical status/),
    ]);
  });

  it('validates a rule set at the row limit within its 128 MB heap', async () => {
    const started = Date.now();
    const r = await cli('rules', 'validate', file('codes.json', withCodes(4990)));
    expect(r.stderr).not.toMatch(/heap out of memory/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^warning mappings\.crm\.rules\[4993\]: rule c4989 has no example/m);
    expect(r.stderr).toMatch(/codes\.json: 0 error\(s\), \d+ warning\(s\)/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses a file over 512 KiB with its size, instead of running out of memory', async () => {
    const text = withCodes(20_000);
    const r = await cli('rules', 'validate', file('huge.json', text));
    expect(r.stderr).not.toMatch(/heap out of memory/);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`huge\\.json is ${Buffer.byteLength(text)} bytes; a rule set is at most 524288 bytes \\(512 KiB\\)`));
  });

  it('diffs a file against the active version, with the impact', async () => {
    const next = parse(reference) as Record<string, any>;
    next.mappings.crm.rules[2] = { id: 'crm-dormant-closed', description: 'Dormant now means closed', when: { status: 'DORMANT' }, then: 'CLOSED' };
    next.examples.mappings[2] = { system: 'crm', raw: { status: 'DORMANT' }, expect: { status: 'CLOSED', rule: 'crm-dormant-closed' } };
    // Nothing maps to INACTIVE any more: its resolution rule could never fire (validation would refuse it).
    next.resolution.rules = next.resolution.rules.filter((r: { id: string }) => r.id !== 'inactive');
    next.examples.resolution = next.examples.resolution.filter((e: { expect: { reason: string } }) => e.expect.reason !== 'inactive');
    // An input's allowed values are part of the rules (the diff said "no rule changes" for them).
    next.mappings.crm.inputs.status.allowed.push('LEAD');
    const r = await cli('rules', 'diff', file('next.yaml', next));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+ mappings.crm: crm-dormant-closed');
    expect(r.stdout).toContain('- mappings.crm: crm-dormant');
    expect(r.stdout).toContain('~ mappings.crm: input status (allowed + "LEAD")');
    expect(r.stdout).toMatch(/impact: 1 of \d+ customers would change status/);
    expect(r.stdout).toContain('INACTIVE → CLOSED: 1 (e.g. CLI-1)');
  });

  it('publishes a file, waits for the reprojection, and exports it back', async () => {
    const next = parse(reference) as Record<string, any>;
    next.mappings.crm.rules[2] = { id: 'crm-dormant-closed', description: 'Dormant now means closed', when: { status: 'DORMANT' }, then: 'CLOSED' };
    next.examples.mappings[2] = { system: 'crm', raw: { status: 'DORMANT' }, expect: { status: 'CLOSED', rule: 'crm-dormant-closed' } };
    // Nothing maps to INACTIVE any more: its resolution rule could never fire (validation would refuse it).
    next.resolution.rules = next.resolution.rules.filter((r: { id: string }) => r.id !== 'inactive');
    next.examples.resolution = next.examples.resolution.filter((e: { expect: { reason: string } }) => e.expect.reason !== 'inactive');
    const noComment = await cli('rules', 'publish', file('next.yaml', next));
    expect(noComment.code).toBe(2);
    expect(noComment.stderr).toMatch(/--comment/);
    const r = await cli('rules', 'publish', file('next.yaml', next), '--comment', 'dormant is closed', '--actor', 'ana');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/published version \d+: \d+ customers re-evaluated, 1 changed \(done\)/);
    const c = await gql<{ customer: { status: string; reason: string } }>(app.url, '{ customer(id: "CLI-1") { status reason } }');
    expect(c.data?.customer).toEqual({ status: 'CLOSED', reason: 'closed' });
    const exported = await cli('rules', 'export');
    expect(parse(exported.stdout)).toEqual(next);
    const v1 = await cli('rules', 'export', '--version', '1');
    expect(parse(v1.stdout)).toEqual(parse(reference));
  });

  it('creates an API token that works, printed once on stdout', async () => {
    const r = await cli('tokens', 'create', '--name', 'ops', '--role', 'admin');
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^sv_/);
    const res = await gql(app.url, '{ apiTokens { name role } }', {}, { authorization: `Bearer ${token}` });
    expect(res.data).toEqual({ apiTokens: expect.arrayContaining([{ name: 'ops', role: 'ADMIN' }]) });
    const bad = await cli('tokens', 'create', '--name', 'x', '--role', 'root');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--role must be one of viewer, analyst, admin/);
  });
});

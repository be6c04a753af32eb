import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { Client } from 'pg';
import { emptyTables, ensureBuilt, envVarsOf, freePort, gql, testEnv, waitFor } from '@app/testing';

/**
 * What requests write to the logs of the built server: expected outcomes (no token, too small a
 * role, bad input, too costly) at most one line per request, at debug, without a stack; an
 * unexpected failure one error line with its stack and the id the client got.
 */
describe('request logs', () => {
  const env = testEnv({ ALLOW_ANONYMOUS_READS: 'false', LOG_LEVEL: 'debug' });
  let child: ChildProcess;
  let url = '';
  let bytes = 0;
  const lines: Array<Record<string, unknown>> = [];
  const tokens: Record<'viewer' | 'analyst', Record<string, string>> = { viewer: {}, analyst: {} };

  beforeAll(async () => {
    const main = await ensureBuilt();
    await emptyTables(env.database.url);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [main], { env: { PATH: process.env.PATH, ...envVarsOf(env), PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    const take = (chunk: Buffer) => {
      bytes += chunk.length;
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) lines.push(p.startsWith('{') ? (JSON.parse(p) as Record<string, unknown>) : { raw: p });
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    await waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200, 'the server ready', 60_000);
    const db = new Client({ connectionString: env.database.url });
    await db.connect();
    for (const role of ['viewer', 'analyst'] as const) {
      const token = `sv_${randomBytes(32).toString('base64url')}`;
      await db.query(`INSERT INTO api_token (name, role, token_hash, created_by) VALUES ($1, $1, $2, 'test')`, [role, createHash('sha256').update(token).digest('hex')]);
      tokens[role] = { authorization: `Bearer ${token}` };
    }
    await db.end();
  }, 120_000);
  afterAll(async () => {
    child?.kill('SIGTERM');
    if (child) await new Promise((r) => child.once('exit', r));
    const conn = await amqp.connect(env.amqp.url);
    const ch = await conn.createChannel();
    await ch.deleteQueue(env.amqp.queue);
    await ch.deleteQueue(`${env.amqp.queue}.dlq`);
    await ch.deleteExchange(env.amqp.exchange);
    await ch.deleteExchange(env.outbox.exchange);
    await conn.close();
  });

  /** The lines and bytes a request writes (the server logs synchronously to its stdout pipe; a short wait collects them). */
  const written = async (request: () => Promise<unknown>) => {
    const [n, b] = [lines.length, bytes];
    await request();
    await new Promise((r) => setTimeout(r, 200));
    return { lines: lines.slice(n).filter((l) => l.context !== 'ingest'), bytes: bytes - b };
  };

  it('writes at most one debug line per request refused as expected, without a stack', async () => {
    const protectedFields = `{ ${Array.from({ length: 80 }, (_, i) => `c${i}: customer(id: "X-${i}") { id }`).join(' ')} }`;
    const flood = `{ ${Array.from({ length: 2400 }, (_, i) => `s${i}: statusCounts { count }`).join(' ')} }`;
    const requests: Array<[string, () => Promise<unknown>, string]> = [
      ['80 protected fields without a token', () => gql(url, protectedFields), 'UNAUTHENTICATED'],
      ['the same with a token that does not verify', () => gql(url, protectedFields, {}, { authorization: 'Bearer sv_nope' }), 'UNAUTHENTICATED'],
      ['a viewer asking for tokens', () => gql(url, '{ apiTokens { id } a: apiTokens { id } }', {}, tokens.viewer), 'FORBIDDEN'],
      ['a negative page size', () => gql(url, '{ ruleSetAudit(first: -5) { action } }', {}, tokens.analyst), 'BAD_USER_INPUT'],
      ['a costly query', () => gql(url, `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: statusCounts { count }`).join(' ')} }`, {}, tokens.viewer), 'QUERY_TOO_COSTLY'],
      ['the 33 KB flood of the issue', () => gql(url, flood), 'QUERY_TOO_LARGE'],
      // Mercurius takes a text that does not parse for a JSON syntax tree, unchecked: a TypeError.
      ['a syntax tree as JSON', () => gql(url, '{"kind":"Document"}'), 'GRAPHQL_PARSE_FAILED'],
      ['an empty JSON object', () => gql(url, '{}'), 'GRAPHQL_PARSE_FAILED'],
    ];
    const seen = [];
    for (const [name, request, code] of requests) {
      let answer: { errors?: Array<{ extensions?: { code?: string } }> } = {};
      const w = await written(async () => (answer = (await request()) as typeof answer));
      seen.push({ name, code: answer.errors?.[0]?.extensions?.code, expected: code, lines: w.lines, bytes: w.bytes });
    }
    const wrong = seen.filter(
      (r) => r.code !== r.expected || r.lines.length > 1 || r.lines.some((l) => Number(l.level) > 30 || /stack|\n\s+at /.test(JSON.stringify(l))) || r.bytes > 1000,
    );
    expect(wrong.map((r) => ({ ...r, lines: r.lines.slice(0, 2).map((l) => JSON.stringify(l).slice(0, 300)), count: r.lines.length }))).toEqual([]);
    // The one line there is says what was refused.
    expect(seen[0].lines).toEqual([expect.objectContaining({ level: 20, context: 'graphql', codes: { UNAUTHENTICATED: 80 } })]);
  });

  it('logs an unexpected failure once, with its stack and the error id the client got', async () => {
    const db = new Client({ connectionString: env.database.url });
    await db.connect();
    await db.query('ALTER TABLE rule_set_audit RENAME TO rule_set_audit_away');
    try {
      let answer: { errors?: Array<{ message: string; extensions?: { code?: string; errorId?: string } }> } = {};
      const w = await written(async () => (answer = await gql(url, '{ a: ruleSetAudit { action } b: ruleSetAudit { action } }', {}, tokens.analyst)));
      expect(answer.errors?.length).toBeGreaterThanOrEqual(1);
      expect(answer.errors!.every((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR')).toBe(true);
      expect(answer.errors![0].message).not.toMatch(/relation/);
      const errors = w.lines.filter((l) => Number(l.level) >= 40);
      expect(errors).toEqual([
        expect.objectContaining({
          level: 50,
          context: 'graphql',
          errorId: answer.errors![0].extensions!.errorId,
          errors: answer.errors!.length,
          msg: expect.stringMatching(/relation "rule_set_audit" does not exist/),
          stack: expect.stringMatching(/\n\s+at /),
        }),
      ]);
    } finally {
      await db.query('ALTER TABLE rule_set_audit_away RENAME TO rule_set_audit');
      await db.end();
    }
  });
});

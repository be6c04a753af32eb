import { execFile } from 'node:child_process';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ensureBuilt, gql, TestApp, waitFor } from '@app/testing';

/** `tokens create|list|revoke` through the built CLI: one-line errors, and a revocation every API instance acts on at once. */
describe('tokens CLI', () => {
  let app: TestApp;
  let main: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [main.replace('apps/server/src/main.js', 'apps/cli/src/main.js'), ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    main = await ensureBuilt();
    app = await TestApp.start({ ALLOW_ANONYMOUS_READS: 'false' });
    env = { DATABASE_URL: app.env.database.url, REDIS_URL: app.env.redis.url, REDIS_PREFIX: app.env.redis.prefix, OUTBOX_RELAY: 'false' };
  }, 120_000);
  afterAll(() => app.stop());

  it.each([['abc'], ['0'], ['99999999999999999999'], ['1; DROP TABLE api_token']])('tokens revoke %s: one line naming the problem, exit 2', async (id) => {
    const r = await cli('tokens', 'revoke', id);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^statusview: a token id is a positive integer \(see tokens list\), got ".*"\n$/);
  });

  it('refuses a token name it could not show, in one line', async () => {
    const r = await cli('tokens', 'create', '--name', 'x'.repeat(101), '--role', 'viewer');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('statusview: a token name must be 1 to 100 characters without control characters, got 101 characters\n');
  });

  it('revokes a token: its live subscription on the running service closes at once', async () => {
    const created = await cli('tokens', 'create', '--name', 'cli-sub', '--role', 'viewer');
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    const id = /token (\d+) "cli-sub"/.exec(created.stderr)![1];
    let closedAt = 0;
    let closed: (code: number) => void = () => undefined;
    const closedP = new Promise<number>((r) => (closed = r));
    const client = createClient({
      url: `${app.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      connectionParams: { authorization: `Bearer ${token}` },
      on: {
        closed: (e) => {
          closedAt = Date.now();
          closed((e as { code: number }).code);
        },
      },
    });
    client.subscribe({ query: 'subscription { customerStatusChanged { customerId } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    try {
      await waitFor(async () => (await gql(app.url, '{ customer(id: "X") { id } }', {}, { authorization: `Bearer ${token}` })).errors === undefined, 'the token works');
      await new Promise((r) => setTimeout(r, 300));
      const r = await cli('tokens', 'revoke', id);
      expect(r).toMatchObject({ code: 0 });
      expect(await Promise.race([closedP, new Promise((res) => setTimeout(() => res('still open'), 2000))])).toBe(4403);
      const [{ revoked_at }] = await app.db.query('SELECT revoked_at FROM api_token WHERE id = $1', [id]);
      expect(closedAt - (revoked_at as Date).getTime()).toBeLessThan(1000);
      const again = await cli('tokens', 'revoke', id);
      expect(again).toMatchObject({ code: 2, stderr: `statusview: no active token with id ${id}\n` });
    } finally {
      await client.dispose();
    }
  });
});

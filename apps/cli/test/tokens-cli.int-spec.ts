import { execFile } from 'node:child_process';
import { ensureBuilt, TestApp } from '@app/testing';

/** `tokens create|list|revoke` through the built CLI: one-line errors. */
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
});

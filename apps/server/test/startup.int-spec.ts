import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { testEnv } from '@app/testing';

/** A missing service or a wrong setting at start: one clear line naming it and what to do, exit 1. */
const SERVER = join(__dirname, '../../../dist/apps/server/src/main.js');

function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const base = testEnv();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SERVER],
      {
        timeout: 20_000,
        env: { ...process.env, DATABASE_URL: base.database.url, REDIS_PREFIX: base.redis.prefix, AMQP_QUEUE: base.amqp.queue, PORT: '0', ...env },
      },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

describe('start-up problems', () => {
  it.each([
    ['Redis', { REDIS_URL: 'redis://127.0.0.1:6398/0' }, /^statusview: Redis at redis:\/\/127\.0\.0\.1:6398\/0 is unreachable \(.*\); start it with: redis-server /],
    ['RabbitMQ', { AMQP_URL: 'amqp://guest:guest@127.0.0.1:5698' }, /^statusview: RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5698 is unreachable \(.*\); start it with: rabbitmq-server -detached/],
    ['PostgreSQL', { DATABASE_URL: 'postgres://postgres@127.0.0.1:5497/statusview' }, /^statusview: PostgreSQL at .*:5497.* is unreachable .*pg_ctlcluster/],
  ])('names %s when it is unreachable, in one line', async (_name, env, line) => {
    const r = await start(env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(line);
  });

  it('reports every bad setting together, naming each variable', async () => {
    const r = await start({ PORT: 'eighty', CDC_TRANSPORT: 'nats', REDIS_URL: 'not a url' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PORT=eighty: expected an integer/);
    expect(r.stderr).toMatch(/CDC_TRANSPORT=nats: expected amqp or kafka/);
    expect(r.stderr).toMatch(/REDIS_URL=not a url: not a URL/);
    expect(r.stderr).not.toMatch(/\s+at /);
  });

  it('never prints the password of a URL it refuses, whether it parses or not', async () => {
    const r = await start({ DATABASE_URL: 'mysql://root:pw-db@127.0.0.1:3306/statusview', AMQP_URL: 'amqp://guest:pw/amqp@127.0.0.1:5672' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_URL=mysql:\/\/root:\*\*\*@127\.0\.0\.1:3306\/statusview: expected a postgres: or postgresql: URL/);
    expect(r.stderr).toMatch(/AMQP_URL=amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672: not a URL/);
    expect(r.stderr).not.toMatch(/pw/);
  });

  it('names every unset connection URL of a system read directly, together, before connecting to it', async () => {
    const r = await start({ CDC_DIRECT_SYSTEMS: 'crm,billing,portal', LEGACY_CRM_URL: '', LEGACY_BILLING_URL: 'postgres://root:secret@127.0.0.1:3306/billing', LEGACY_PORTAL_URL: 'portal' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LEGACY_CRM_URL: not set; it is the connection URL of system crm, whose changes are read directly/);
    expect(r.stderr).toMatch(/LEGACY_BILLING_URL: a postgres: URL, but system billing is mysql \(expected mysql:\)/);
    expect(r.stderr).toMatch(/LEGACY_PORTAL_URL: not a URL/);
    expect(r.stderr).not.toMatch(/secret/);
    expect(r.stderr).not.toMatch(/\s+at /);
  });

  it('names the configuration file and the path inside it', async () => {
    const r = await start({ CONFIG_DIR: join(__dirname, 'fixtures/bad-config') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad-config\/sources\.yaml: systems\.crm\.recordKey: /);
    expect(r.stderr).toMatch(/bad-config\/sources\.yaml: systems\.billing\.topic: /);
  });
});

import { randomBytes } from 'node:crypto';
import { LegacyMysqlDatabase, TestApp } from '@app/testing';

/**
 * A user that may read the table and the binlog's status but not dump the binlog (no REPLICATION
 * SLAVE): the checks at start pass, the stream fails as soon as it starts, every time. It is
 * opened again with a growing backoff, not in a loop, and /health says which grant is missing.
 */
describe('the direct MySQL source with a user that may not stream the binlog', () => {
  const user = `sv_norepl_${randomBytes(3).toString('hex')}`;
  let legacy: LegacyMysqlDatabase;
  let app: TestApp | undefined;

  beforeAll(async () => {
    legacy = await LegacyMysqlDatabase.create();
    await legacy.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
    await legacy.query(`GRANT BINLOG MONITOR ON *.* TO '${user}'@'%'`);
    await legacy.query(`GRANT SELECT ON \`${legacy.name}\`.* TO '${user}'@'%'`);
    const url = new URL(legacy.url);
    url.username = user;
    url.password = 'pw';
    process.env.LEGACY_BILLING_URL = url.toString();
  });

  afterAll(async () => {
    await app?.stop();
    await legacy?.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
    await legacy?.drop();
    delete process.env.LEGACY_BILLING_URL;
  });

  it('a wrong password: the start fails saying to check the user and password, not that the server is unreachable', async () => {
    const good = process.env.LEGACY_BILLING_URL!;
    const wrong = new URL(good);
    wrong.password = 'not-it';
    process.env.LEGACY_BILLING_URL = wrong.toString();
    try {
      await expect(TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' })).rejects.toMatchObject({
        code: 'ACCESS_DENIED',
        message: expect.stringMatching(/Access denied for user .*: check the user and password in LEGACY_BILLING_URL$/),
      });
    } finally {
      process.env.LEGACY_BILLING_URL = good;
    }
  }, 30_000);

  it('backs off between attempts and names the missing grant in /health', async () => {
    app = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' });
    await new Promise((r) => setTimeout(r, 3_000));
    const res = await fetch(`${app.url}/health`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { details: { consumer: { message: string; 'direct:billing': { reconnects: number; connected: boolean } } } };
    const consumer = body.details.consumer;
    expect(consumer.message).toMatch(/^not consuming: direct:billing \(.*grant the source's user REPLICATION SLAVE/);
    expect(consumer['direct:billing'].connected).toBe(false);
    // 100, 200, 400 ms… up to CDC_RETRY_MAX_MS (500 in the tests): at most 8 in 3 s, where a loop made about 30.
    expect(consumer['direct:billing'].reconnects).toBeGreaterThan(1);
    expect(consumer['direct:billing'].reconnects).toBeLessThanOrEqual(10);
  }, 30_000);
});

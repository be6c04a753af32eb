import { FreezingProxy, gql, LegacyMysqlDatabase, TestApp, waitFor } from '@app/testing';

/**
 * The link to a directly read MariaDB goes silent (packets dropped, nothing closed: TCP would
 * notice after many minutes). The server sends every binlog event to every dump connection, so
 * a stream that brings nothing for DIRECT_MYSQL_RECEIVE_TIMEOUT_MS while the server's binlog
 * moves is dead: the source opens it again (and a control connection that stopped answering
 * too), so a change made after the freeze is still seen.
 */
describe('direct CDC from MariaDB over a link that goes silent', () => {
  let legacy: LegacyMysqlDatabase;
  let proxy: FreezingProxy;
  let app: TestApp;

  beforeAll(async () => {
    legacy = await LegacyMysqlDatabase.create();
    proxy = await FreezingProxy.start(Number(new URL(legacy.url).port || 3306));
    process.env.LEGACY_BILLING_URL = proxy.route(legacy.url);
    app = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing', DIRECT_MYSQL_RECEIVE_TIMEOUT_MS: '1500' });
  });
  afterAll(async () => {
    await app?.stop();
    await proxy?.close();
    await legacy?.drop();
    delete process.env.LEGACY_BILLING_URL;
  });

  const status = async (id: string) => (await gql<{ customer: { status: string } | null }>(app.url, 'query($id: ID!) { customer(id: $id) { status } }', { id })).data?.customer?.status ?? null;
  const health = async () => JSON.stringify(await (await fetch(`${app.url}/health`)).json());

  it('opens the stream again when the connection stops answering, and loses nothing', async () => {
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES (1, 'HB-M1', 0, 100, '2024-05-01 10:00:00')`);
    await waitFor(async () => (await status('HB-M1')) === 'ACTIVE', 'the first change', 15_000);
    const reconnectsBefore = Number(/"reconnects":(\d+)/.exec(await health())?.[1] ?? 0);

    // The binlog stream, zongji's own control connection and the source's: all silent at once.
    expect(proxy.freeze()).toBeGreaterThanOrEqual(2);
    await legacy.query(`UPDATE accounts SET state = 1 WHERE account_id = 1`);
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES (2, 'HB-M2', 9, 0, '2024-05-01 10:00:00')`);

    await waitFor(async () => (await status('HB-M1')) === 'AT_RISK' && (await status('HB-M2')) !== null, 'the changes made after the freeze', 20_000);
    expect(Number(/"reconnects":(\d+)/.exec(await health())?.[1] ?? 0)).toBeGreaterThan(reconnectsBefore);
    expect(await health()).toContain('"connected":true');
  }, 40_000);
});

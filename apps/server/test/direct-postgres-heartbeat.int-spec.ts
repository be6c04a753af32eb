import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { directConfigDir, FreezingProxy, gql, LegacyReplica, TestApp, waitFor } from '@app/testing';

/**
 * The link to a directly read PostgreSQL goes silent (packets dropped, nothing closed: TCP would
 * notice after many minutes): the source asks the server for a reply with every status update,
 * takes a stream that brings nothing for DIRECT_PG_RECEIVE_TIMEOUT_MS for dead, and streams
 * again over a new connection, so a change made after the freeze is still seen.
 */
describe('direct CDC from PostgreSQL over a link that goes silent', () => {
  const prefix = `sv_helper_hb_${randomBytes(3).toString('hex')}`;
  let crm: LegacyReplica;
  let proxy: FreezingProxy;
  let app: TestApp;
  let configDir: string;

  beforeAll(async () => {
    crm = await LegacyReplica.create(['crm']);
    proxy = await FreezingProxy.start(Number(new URL(crm.url).port || 5432));
    process.env.TEST_HEARTBEAT_CRM_URL = proxy.route(crm.url);
    configDir = directConfigDir({ crm: 'TEST_HEARTBEAT_CRM_URL' });
    app = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: prefix, DIRECT_PG_STATUS_INTERVAL_MS: '200', DIRECT_PG_RECEIVE_TIMEOUT_MS: '1500' });
  });

  afterAll(async () => {
    await app?.stop();
    await proxy?.close();
    await crm?.drop();
    rmSync(configDir, { recursive: true, force: true });
    delete process.env.TEST_HEARTBEAT_CRM_URL;
  });

  const status = async (id: string) => (await gql<{ customer: { status: string } | null }>(app.url, 'query($id: ID!) { customer(id: $id) { status } }', { id })).data?.customer?.status ?? null;

  it('opens the stream again when the connection stops answering, and loses nothing', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (1, 'HB-1', 'PROSPECT')`);
    await waitFor(async () => (await status('HB-1')) === 'PENDING', 'the first change');

    expect(proxy.freeze()).toBeGreaterThanOrEqual(2);
    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 1`);
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (2, 'HB-2', 'CLOSED')`);

    await waitFor(async () => (await status('HB-1')) === 'INACTIVE' && (await status('HB-2')) === 'CLOSED', 'the changes made after the freeze', 20_000);
    const health = (await (await fetch(`${app.url}/health`)).json()) as { details?: Record<string, { status?: string; connected?: boolean }> };
    expect(JSON.stringify(health)).toContain('"connected":true');
  });
});

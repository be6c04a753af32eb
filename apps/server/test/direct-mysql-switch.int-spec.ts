import { RunningApp, startApp } from '@app/bootstrap';
import { BILLING, gql, LegacyMysqlDatabase, TestApp, testEnv, waitFor } from '@app/testing';

/**
 * billing switches from Debezium to the binlog (`CDC_DIRECT_SYSTEMS=billing`): the direct source
 * has no checkpoint yet, but the projection holds billing's records at Debezium's binlog
 * positions. A row committed after Debezium's last event and before the switch must not be
 * skipped (a first start at the binlog's end would skip it).
 */
describe('switching billing from Debezium to the binlog', () => {
  let legacy: LegacyMysqlDatabase;
  let debezium: TestApp;
  let direct: RunningApp | undefined;

  const status = async (url: string, id: string) =>
    (await gql<{ customer: { status: string } | null }>(url, 'query($id: ID!) { customer(id: $id) { status } }', { id })).data?.customer?.status ?? null;

  beforeAll(async () => {
    legacy = await LegacyMysqlDatabase.create();
    process.env.LEGACY_BILLING_URL = legacy.url;
    debezium = await TestApp.start();
  });
  afterAll(async () => {
    await direct?.close();
    await debezium?.stop();
    await legacy?.drop();
    delete process.env.LEGACY_BILLING_URL;
  });

  it('starts at the binlog file of the newest record Debezium stored, so a row committed during the switch is applied', async () => {
    // Debezium delivers the first row, at the binlog position where it was written.
    const at = await legacy.binlogEnd();
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (1, 'B-000001', 0)`);
    await debezium.publish(BILLING.topic, debezium.log.envelope(BILLING, 'c', null, { account_id: 1, cust_ref: 'B-000001', state: 0, balance_cents: null, modified: null }, at));
    await waitFor(async () => (await status(debezium.url, 'B-000001')) === 'ACTIVE', 'the row through Debezium');

    // Debezium stops; a row is committed before the direct source starts.
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (2, 'B-000002', 1)`);
    direct = await startApp({ api: true, ingest: true }, { env: testEnv({ CDC_DIRECT_SYSTEMS: 'billing' }), logger: false });
    const url = direct.url;

    await waitFor(async () => (await status(url, 'B-000002')) === 'AT_RISK', 'the row committed during the switch', 15_000);
    await legacy.query(`UPDATE accounts SET state = 2 WHERE account_id = 1`);
    await waitFor(async () => (await status(url, 'B-000001')) === 'SUSPENDED', 'a change after the switch', 15_000);
  });
});

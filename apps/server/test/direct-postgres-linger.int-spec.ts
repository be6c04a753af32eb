import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { directConfigDir, gql, LegacyReplica, TestApp, waitFor } from '@app/testing';

const LINGER_MS = 4000;

/**
 * A directly read PostgreSQL's changes wait for a fuller batch (CDC_BATCH_LINGER_MS) only after an
 * idle spell: those that came while a batch was being applied have waited for it already and go
 * in the next batch at once. Under load a change used to wait for the batch in flight, then the
 * linger, then its own batch.
 */
describe('direct CDC from PostgreSQL under load', () => {
  const prefix = `sv_helper_lg_${randomBytes(3).toString('hex')}`;
  let crm: LegacyReplica;
  let app: TestApp;
  let configDir: string;

  beforeAll(async () => {
    crm = await LegacyReplica.create(['crm']);
    process.env.TEST_LINGER_CRM_URL = crm.url;
    configDir = directConfigDir({ crm: 'TEST_LINGER_CRM_URL' });
    // A linger far longer than anything else here, so that waiting for it shows.
    app = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: prefix, CDC_BATCH_LINGER_MS: String(LINGER_MS) });
  });

  afterAll(async () => {
    await app?.stop();
    await crm?.drop();
    rmSync(configDir, { recursive: true, force: true });
    delete process.env.TEST_LINGER_CRM_URL;
  });

  const status = async (id: string) => (await gql<{ customer: { status: string } | null }>(app.url, 'query($id: ID!) { customer(id: $id) { status } }', { id })).data?.customer?.status ?? null;

  it('applies the changes that came during a batch right after it, without lingering again', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (1, 'LG-1', 'PROSPECT')`);
    await waitFor(async () => (await status('LG-1')) === 'PENDING', 'the first change (after one linger)', LINGER_MS + 10_000);

    // The next batch is held in flight: a transaction of the projection locks LG-1's row.
    const holder = new Client({ connectionString: app.env.database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM customer WHERE id = 'LG-1' FOR UPDATE`);
      await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 1`);
      const blocked = async () =>
        Number(
          (await holder.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`)).rows[0]
            .n,
        ) > 0;
      await waitFor(blocked, 'the batch with the update waiting for the lock', LINGER_MS + 10_000);
      // A change that arrives while that batch is in flight.
      await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (2, 'LG-2', 'CLOSED')`);
      await new Promise((r) => setTimeout(r, 500));
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    // Far less than the linger: it waited for the batch in flight only.
    const released = Date.now();
    await waitFor(async () => (await status('LG-2')) === 'CLOSED', 'the change that came during the batch', LINGER_MS / 2);
    expect(Date.now() - released).toBeLessThan(LINGER_MS / 2);
    expect(await status('LG-1')).toBe('INACTIVE');
  });
});

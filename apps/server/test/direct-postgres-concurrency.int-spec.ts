import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { directConfigDir, gql, LegacyReplica, TestApp, waitFor } from '@app/testing';

/**
 * Two batches in flight on a direct PostgreSQL source (CDC_CONCURRENCY 2, one change a batch):
 * a batch held up by a row lock in the projection does not hold up the next one, and the slot is
 * never acknowledged past the held one (a restart would read it again).
 */
describe('direct CDC from PostgreSQL, two batches in flight', () => {
  const prefix = `sv_conc_pg_${randomBytes(3).toString('hex')}`;
  let crm: LegacyReplica;
  let app: TestApp;
  let configDir: string;
  let holder: Client | undefined;

  beforeAll(async () => {
    crm = await LegacyReplica.create(['crm']);
    process.env.TEST_CONC_CRM_URL = crm.url;
    configDir = directConfigDir({ crm: 'TEST_CONC_CRM_URL' });
    app = await TestApp.start({
      CONFIG_DIR: configDir,
      DIRECT_PG_SLOT_PREFIX: prefix,
      DIRECT_PG_STATUS_INTERVAL_MS: '100',
      CDC_BATCH_SIZE: '1',
      CDC_BATCH_LINGER_MS: '0',
      CDC_CONCURRENCY: '2',
    });
  });

  afterAll(async () => {
    await holder?.end().catch(() => undefined);
    await app?.stop();
    await crm?.drop();
    rmSync(configDir, { recursive: true, force: true });
    delete process.env.TEST_CONC_CRM_URL;
  });

  const status = async (id: string): Promise<string | null> =>
    (await gql<{ customer: { status: string } | null }>(app.url, `query($id: ID!) { customer(id: $id) { status } }`, { id })).data!.customer?.status ?? null;
  const until = (id: string, want: string, what: string) => waitFor(async () => ((await status(id)) === want ? true : undefined), what);
  const confirmed = async () => BigInt((await crm.query<{ n: string }>(`SELECT (confirmed_flush_lsn - '0/0')::text AS n FROM pg_replication_slots WHERE slot_name = $1`, [`${prefix}_crm`])).rows[0].n);
  const walNow = async () => BigInt((await crm.query<{ n: string }>(`SELECT (pg_current_wal_lsn() - '0/0')::text AS n`)).rows[0].n);

  it('applies the next batch while one waits for a lock, and acknowledges neither until the held one committed', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (1, 'H-1', 'ACTIVE'), (2, 'H-2', 'ACTIVE')`);
    await until('H-1', 'PENDING', 'the first insert');
    await until('H-2', 'PENDING', 'the second insert');

    // The projection's row of record 1 locked, as a long transaction of another writer would hold it.
    holder = new Client({ connectionString: app.env.database.url });
    await holder.connect();
    await holder.query('BEGIN');
    const locked = await holder.query(`SELECT 1 FROM source_record WHERE system = 'crm' AND record_key = '1' FOR UPDATE`);
    expect(locked.rowCount).toBe(1);

    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 1`);
    const afterHeld = await walNow();
    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 2`);
    const afterNext = await walNow();

    // The later change is served while the earlier one waits.
    await until('H-2', 'INACTIVE', 'the change after the held one');
    expect(await status('H-1')).toBe('PENDING');
    // Several status intervals (and keepalives) later, the slot still stands before the held commit.
    await new Promise((r) => setTimeout(r, 800));
    expect(await confirmed()).toBeLessThan(afterHeld);

    await holder.query('COMMIT');
    await until('H-1', 'INACTIVE', 'the held change, once the lock is gone');
    await waitFor(async () => ((await confirmed()) >= afterNext ? true : undefined), 'the slot acknowledged past both commits');
  });
});

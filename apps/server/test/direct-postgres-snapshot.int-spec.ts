import { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createBackfillContext, ReconcileUseCase } from '@app/backfill';
import { loadDomainConfig } from '@app/config';
import { directConfigDir, gql, LegacyReplica, TestApp, waitFor } from '@app/testing';

/**
 * First start of a direct PostgreSQL system whose table already holds rows: the slot is created
 * with an exported snapshot, the table loaded inside it, and the stream starts at the slot's
 * consistent point. Writes go on all the while; at the end the view agrees with the table.
 */
describe('direct CDC from PostgreSQL: the first start loads the table in the slot\'s snapshot', () => {
  const prefix = `sv_helper_pg_${randomBytes(3).toString('hex')}`;
  let crm: LegacyReplica;
  let app: TestApp | undefined;
  let ctx: INestApplicationContext | undefined;
  let configDir: string;

  beforeAll(async () => {
    crm = await LegacyReplica.create(['crm']);
    await crm.query(`INSERT INTO crm.customers SELECT g, 'S-' || g, null, (ARRAY['ACTIVE','DORMANT','PROSPECT','CLOSED'])[1 + g % 4], now() FROM generate_series(1, 5000) g`);
    process.env.TEST_SNAPSHOT_CRM_URL = crm.url;
    configDir = directConfigDir({ crm: 'TEST_SNAPSHOT_CRM_URL' });
  });

  afterAll(async () => {
    await ctx?.close();
    await app?.stop();
    await crm?.drop();
    delete process.env.TEST_SNAPSHOT_CRM_URL;
    rmSync(configDir, { recursive: true, force: true });
  });

  it('loads every row, misses and doubles no write made during the load, and reconcile agrees', async () => {
    // Writes during the whole start (slot creation, snapshot load) and after it: updates, inserts, deletes.
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        n++;
        const id = 1 + ((n * 7919) % 5000);
        await crm.query(`UPDATE crm.customers SET status = $2, updated_at = now() WHERE id = $1`, [id, ['DORMANT', 'CLOSED', 'ACTIVE'][n % 3]]);
        if (n % 5 === 0) await crm.query(`INSERT INTO crm.customers VALUES ($1, $2, null, 'PROSPECT', now())`, [10_000 + n, `S-NEW-${n}`]);
        if (n % 11 === 0) await crm.query(`DELETE FROM crm.customers WHERE id = $1`, [1 + ((n * 104729) % 5000)]);
      }
    })();
    let started: TestApp;
    try {
      started = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: prefix, CDC_BATCH_SIZE: '500' });
      app = started;
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      writing = false;
      await writer;
    }
    expect(n).toBeGreaterThan(20);
    expect((await crm.slots()).map((s) => s.slot_name)).toEqual([`${prefix}_crm`]);

    const domain = loadDomainConfig(configDir);
    ctx = await createBackfillContext({ env: started.env, domain, connections: started.running.connections, legacyEnv: { TEST_SNAPSHOT_CRM_URL: crm.url } });
    const reconcile = ctx.get(ReconcileUseCase);
    // Until the stream has applied the last writes: a reconcile that runs while they arrive can agree
    // (it checks a difference again before counting it) with a view that streamed one record short.
    const report = await waitFor(async () => {
      const r = await reconcile.execute({ system: 'crm' });
      return r.agreed && r.viewRecords === r.legacyRows ? r : undefined;
    }, 'reconcile to agree', 30_000);
    const { rows } = await crm.query<{ n: number }>('SELECT count(*)::int AS n FROM crm.customers');
    expect(report).toMatchObject({ agreed: true, legacyRows: rows[0].n, viewRecords: rows[0].n });

    // Nothing doubled: one history entry per status a customer went through, never the same twice in a row.
    const repeats: Array<{ n: number }> = await started.db.query(
      `SELECT count(*)::int AS n FROM (SELECT to_status, lag(to_status) OVER (PARTITION BY customer_id ORDER BY customer_version) AS prev FROM status_history) h WHERE to_status = prev`,
    );
    expect(repeats[0].n).toBe(0);
    const one = await gql<{ customer: { status: string } | null }>(started.url, `{ customer(id: "S-NEW-5") { status } }`);
    expect(one.data?.customer).toEqual({ status: 'PENDING' });
  }, 120_000);

  it('a first start over a view that already holds records of the system (its slot was dropped meanwhile): a record the table no longer holds is deleted, the others loaded', async () => {
    // After the first test: its service and context are done with.
    await ctx?.close();
    ctx = undefined;
    await app?.stop();
    app = undefined;
    const gone = await LegacyReplica.create(['crm']);
    const url = 'TEST_SNAPSHOT_GONE_URL';
    process.env[url] = gone.url;
    const dir = directConfigDir({ crm: url });
    const slotPrefix = `${prefix}_gone`;
    let started: TestApp | undefined;
    try {
      await gone.query(`INSERT INTO crm.customers VALUES (1, 'G-1', null, 'ACTIVE', now()), (2, 'G-2', null, 'ACTIVE', now()), (3, 'G-3', null, 'ACTIVE', now())`);
      started = await TestApp.start({ CONFIG_DIR: dir, DIRECT_PG_SLOT_PREFIX: slotPrefix });
      const status = async (id: string) => (await gql<{ customer: { status: string } | null }>(started!.url, `query($id: ID!) { customer(id: $id) { status } }`, { id })).data?.customer?.status ?? null;
      await waitFor(async () => (await status('G-3')) === 'PENDING', 'the first load');
      // Stopped; meanwhile the slot is dropped (by an operator, or lost) and the table changes with no slot to see it.
      await started.restart(async () => {
        await gone.query(`SELECT pg_drop_replication_slot($1)`, [`${slotPrefix}_crm`]);
        await gone.query(`DELETE FROM crm.customers WHERE id = 2`);
        await gone.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 3`);
      });
      await waitFor(async () => (await status('G-3')) === 'INACTIVE', 'the second load');
      expect(await status('G-2')).toBeNull();
      expect(await status('G-1')).toBe('PENDING');
      // And streaming goes on from the new slot.
      await gone.query(`UPDATE crm.customers SET status = 'CLOSED' WHERE id = 1`);
      await waitFor(async () => (await status('G-1')) === 'CLOSED', 'a change streamed after the load');
    } finally {
      await started?.stop();
      await gone.drop();
      delete process.env[url];
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

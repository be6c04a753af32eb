import { INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { createBackfillContext, ReconcileUseCase } from '@app/backfill';
import { loadDomainConfig } from '@app/config';
import { gql, LegacyMysqlDatabase, TestApp, waitFor } from '@app/testing';

/**
 * First start of billing read from the MariaDB binlog over a table that already holds rows: the
 * table is loaded in a consistent snapshot whose binlog position the server gives, and the
 * stream starts there. Writes go on all the while; at the end the view agrees with the table.
 */
const SOURCES = `query($id: ID!) { customer(id: $id) { status sources { system raw position } } }`;
type Customer = { status: string; sources: Array<{ system: string; raw: string; position: string | null }> };

describe('direct CDC from MariaDB: the first start loads the table in a consistent snapshot', () => {
  let legacy: LegacyMysqlDatabase | undefined;
  let app: TestApp | undefined;
  let ctx: INestApplicationContext | undefined;

  const customer = async (id: string) => (await gql<{ customer: Customer | null }>(app!.url, SOURCES, { id })).data?.customer ?? null;
  const billingOf = async (id: string) => (await customer(id))?.sources.find((s) => s.system === 'billing') ?? null;

  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
    await app?.stop();
    app = undefined;
    await legacy?.drop();
    legacy = undefined;
    delete process.env.LEGACY_BILLING_URL;
  });

  it('loads every row, misses and doubles no write made during the load, and reconcile agrees', async () => {
    const db = await LegacyMysqlDatabase.create();
    legacy = db;
    const rows = Array.from({ length: 5000 }, (_, i) => `(${i + 1}, 'B-${String(i + 1).padStart(6, '0')}', ${[0, 1, 2, 9][i % 4]})`);
    for (let i = 0; i < rows.length; i += 1000) await db.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES ${rows.slice(i, i + 1000).join(', ')}`);
    process.env.LEGACY_BILLING_URL = db.url;
    // A writer of its own during the whole start (snapshot, load, stream) and after it: updates, inserts, deletes.
    const writer = await LegacyMysqlDatabase.connect(db.url);
    let writing = true;
    let n = 0;
    const writes = (async () => {
      while (writing) {
        n++;
        await writer.query(`UPDATE accounts SET state = ? WHERE account_id = ?`, [[1, 2, 0][n % 3], 1 + ((n * 7919) % 5000)]);
        if (n % 5 === 0) await writer.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (?, ?, 0)`, [10_000 + n, `B-9${String(n).padStart(5, '0')}`]);
        if (n % 11 === 0) await writer.query(`DELETE FROM accounts WHERE account_id = ?`, [1 + ((n * 104729) % 5000)]);
      }
    })();
    let started: TestApp;
    try {
      started = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing', CDC_BATCH_SIZE: '500' });
      app = started;
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      writing = false;
      await writes;
      await writer.end();
    }
    expect(n).toBeGreaterThan(20);

    ctx = await createBackfillContext({ env: started.env, domain: loadDomainConfig(started.env.configDir), connections: started.running.connections, legacyEnv: { LEGACY_BILLING_URL: db.url } });
    const reconcile = ctx.get(ReconcileUseCase);
    // Until the stream has applied the last writes (a reconcile can agree with a view one record short while they arrive).
    const report = await waitFor(async () => {
      const r = await reconcile.execute({ system: 'billing' });
      return r.agreed && r.viewRecords === r.legacyRows ? r : undefined;
    }, 'reconcile to agree', 30_000);
    const [count] = await db.query('SELECT count(*) AS n FROM accounts');
    expect(report).toMatchObject({ agreed: true, legacyRows: Number((count as Array<{ n: number }>)[0].n) });

    // Nothing doubled: one history entry per status a customer went through, never the same twice in a row.
    const repeats: Array<{ n: number }> = await started.db.query(
      `SELECT count(*)::int AS n FROM (SELECT to_status, lag(to_status) OVER (PARTITION BY customer_id ORDER BY customer_version) AS prev FROM status_history) h WHERE to_status = prev`,
    );
    expect(repeats[0].n).toBe(0);
    // A row untouched since the load carries the snapshot's position: one byte before the binlog point the stream started at.
    const untouched = await billingOf('B-000004');
    expect(untouched?.position).toMatch(/^.+\.\d+:\d+:0$/);
  }, 120_000);

  it('gives a loaded row the raw values a streamed row of the same values gets', async () => {
    const db = await LegacyMysqlDatabase.create();
    legacy = db;
    await db.query(
      `ALTER TABLE accounts ADD COLUMN note text, ADD COLUMN rate decimal(12,4), ADD COLUMN born date, ADD COLUMN at_time time(3), ` +
        `ADD COLUMN big bigint unsigned, ADD COLUMN doc json, ADD COLUMN bytes varbinary(8), ADD COLUMN seen timestamp(6) NULL, ADD COLUMN coarse datetime`,
    );
    const values = `'naïve ☃', 1234.5678, '1999-12-31', '-12:34:56.789', 18446744073709551615, '{"a": [1, 2.5, null]}', X'00FF10', '2024-02-29 23:59:59.123456', '2024-01-01 00:00:01'`;
    const insert = (id: number, ref: string) =>
      db.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified, note, rate, born, at_time, big, doc, bytes, seen, coarse) VALUES (${id}, '${ref}', 1, 100, '2024-05-01 10:00:00.123', ${values})`);
    await insert(1, 'B-000001');
    process.env.LEGACY_BILLING_URL = db.url;
    app = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' });
    await insert(2, 'B-000002');
    const streamed = await waitFor(() => billingOf('B-000002'), 'the streamed row', 15_000);
    const loaded = await billingOf('B-000001');
    const { account_id: a, cust_ref: r, ...loadedRest } = JSON.parse(loaded!.raw) as Record<string, unknown>;
    const { account_id: b, cust_ref: s, ...streamedRest } = JSON.parse(streamed.raw) as Record<string, unknown>;
    expect([a, r, b, s]).toEqual([1, 'B-000001', 2, 'B-000002']);
    expect(loadedRest).toEqual(streamedRest);
    expect(loadedRest).toMatchObject({ big: '18446744073709551615', bytes: 'AP8Q', modified: Date.UTC(2024, 4, 1, 10, 0, 0, 123) });
  }, 60_000);

  it('loads again when the first start was cut off during the load, and ends equal to the table', async () => {
    const db = await LegacyMysqlDatabase.create();
    legacy = db;
    await db.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (1, 'B-000001', 0), (2, 'B-000002', 0), (3, 'B-000003', 0)`);
    process.env.LEGACY_BILLING_URL = db.url;
    const started = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' });
    app = started;
    await waitFor(async () => (await customer('B-000003'))?.status === 'ACTIVE', 'the first load');
    // As a crash in the middle of a load leaves it: the checkpoint saying the load is under way; meanwhile the table changes.
    const checkpoints = new Client({ connectionString: started.env.database.url });
    await checkpoints.connect();
    await started.restart(async () => {
      await checkpoints.query(`UPDATE source_checkpoint SET position_kind = 'ts', position_key = '0', position = 'snapshot loading (first start)' WHERE source = 'billing'`);
      await db.query(`DELETE FROM accounts WHERE account_id = 2`);
      await db.query(`UPDATE accounts SET state = 9 WHERE account_id = 3`);
    }).finally(() => checkpoints.end());
    await waitFor(async () => (await customer('B-000003'))?.status === 'CLOSED', 'the second load');
    expect(await customer('B-000002')).toBeNull();
    expect((await customer('B-000001'))?.status).toBe('ACTIVE');
    await db.query(`UPDATE accounts SET state = 2 WHERE account_id = 1`);
    await waitFor(async () => (await customer('B-000001'))?.status === 'SUSPENDED', 'a change streamed after the load');
  }, 60_000);

  it('does not take a MyISAM table for consistently snapshotted: streams from the binlog end instead, and goes on streaming', async () => {
    const db = await LegacyMysqlDatabase.create();
    legacy = db;
    // A consistent snapshot isolates InnoDB only: rows of this table could be missed or read twice.
    await db.query('ALTER TABLE accounts ENGINE = MyISAM');
    await db.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (1, 'B-000001', 0)`);
    process.env.LEGACY_BILLING_URL = db.url;
    app = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' });
    await db.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (2, 'B-000002', 1)`);
    await waitFor(async () => (await customer('B-000002'))?.status === 'AT_RISK', 'a row streamed', 15_000);
    // Not loaded: the operator is told to run the backfill for it.
    expect(await customer('B-000001')).toBeNull();
  }, 60_000);
});

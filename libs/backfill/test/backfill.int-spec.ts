import { INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { BackfillCheckpointStore, BackfillUseCase, createBackfillContext } from '@app/backfill';
import { DebeziumJsonDecoder, DebeziumLog } from '@app/cdc';
import { ChangeEvent } from '@app/change-events';
import { loadDomainConfig } from '@app/config';
import { ApplyChangesUseCase } from '@app/projection';
import { BILLING, CRM, gql, TestApp, waitFor } from '@app/testing';
import { LegacyMysql, LegacyPostgres } from './legacy-databases';

/** Backfill in process (same projection, database and Redis as the test app), both dialects, and the race with live events. */
describe('backfill', () => {
  let app: TestApp;
  let crm: LegacyPostgres;
  let billing: LegacyMysql;
  let ctx: INestApplicationContext;
  let backfill: BackfillUseCase;
  let apply: ApplyChangesUseCase;
  const domain = loadDomainConfig('config');
  const decoder = new DebeziumJsonDecoder(domain.sources);
  const log = new DebeziumLog();

  beforeAll(async () => {
    [app, crm, billing] = await Promise.all([TestApp.start(), LegacyPostgres.create('crm'), LegacyMysql.create('billing')]);
    await app.db.query('TRUNCATE backfill_checkpoint, reconcile_report');
    ctx = await createBackfillContext({
      env: app.env,
      domain,
      connections: app.running.connections,
      legacyEnv: { LEGACY_CRM_URL: crm.url, LEGACY_BILLING_URL: billing.url },
    });
    backfill = ctx.get(BackfillUseCase);
    apply = ctx.get(ApplyChangesUseCase);
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    await Promise.all([app?.stop(), crm?.drop(), billing?.drop()]);
  });

  const customer = async (id: string) =>
    (
      await gql<{ customer: { status: string; reason: string; sources: Array<{ system: string; status: string; raw: string; position: string }> } | null }>(
        app.url,
        `query($id: ID!) { customer(id: $id) { status reason sources { system status raw position } } }`,
        { id },
      )
    ).data?.customer ?? null;

  const record = async (system: string, key: string) =>
    ((await app.db.query(`SELECT customer_id, raw, status, position, deleted FROM source_record WHERE system = $1 AND record_key = $2`, [system, key])) as Array<{
      customer_id: string;
      raw: Record<string, unknown>;
      status: string;
      position: string;
      deleted: boolean;
    }>)[0];

  /** A live change event, decoded like the consumer does, applied through the one projection path. */
  const liveEvent = async (envelope: Record<string, unknown>, topic: string): Promise<void> => {
    const decoded = decoder.decode({ topic, value: JSON.stringify(envelope) });
    await apply.execute([decoded as ChangeEvent]);
  };

  const crmRows = (from: number, to: number, status = 'ACTIVE') =>
    crm.query(
      `INSERT INTO crm.customers SELECT g, 'B-' || lpad(g::text, 6, '0'), 'b' || g || '@example.com', $3, timestamp '2024-01-01 10:00:00.123456' + g * interval '1 second'
       FROM generate_series($1::int, $2::int) g`,
      [from, to, status],
    );

  it('loads a PostgreSQL table in primary-key order, as Debezium would send its rows, and a second run changes nothing', async () => {
    await crmRows(1, 1200);
    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id % 3 = 0`);
    const summary = await backfill.execute({ system: 'crm', batchSize: 500 });
    expect(summary).toMatchObject({ rowsRead: 1200, recordsChanged: 1200, unmappable: 0, interrupted: false });
    expect(summary.startPosition).toMatch(/^lsn:\d+$/);

    const r = await record('crm', '3');
    // timestamp-micros, exactly what the connector sends for a timestamp column.
    expect(r.raw).toEqual({ id: 3, customer_no: 'B-000003', email: 'b3@example.com', status: 'DORMANT', updated_at: Date.UTC(2024, 0, 1, 10, 0, 3, 123) * 1000 + 456 });
    expect(r.position).toBe(summary.startPosition);
    expect(await customer('b-000003')).toMatchObject({ status: 'INACTIVE', reason: 'inactive' });
    expect(await customer('B-000004')).toMatchObject({ status: 'PENDING', reason: 'no-billing-yet' });
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM source_record WHERE system = 'crm'`);
    expect(n).toBe(1200);

    const versions = await app.db.query(`SELECT sum(version)::int AS v, count(*)::int AS n FROM customer`);
    const again = await backfill.execute({ system: 'crm', batchSize: 500 });
    expect(again).toMatchObject({ rowsRead: 1200, recordsChanged: 0, unchanged: 1200, customersChanged: 0 });
    expect(await app.db.query(`SELECT sum(version)::int AS v, count(*)::int AS n FROM customer`)).toEqual(versions);
  });

  it('loads a MariaDB table, normalizing customer numbers and timestamps like the live path', async () => {
    await billing.query(
      `INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES
       (1, ' b-000001 ', 1, -4200, '2024-02-03 04:05:06.789'), (2, 'b-000002', 9, 0, '2024-02-03 04:05:07.000'),
       (3, 'B-000003', 2, 10, '2024-02-03 04:05:08.001'), (10, 'x-10', 5, 10, '2024-02-03 04:05:08.001')`,
    );
    const summary = await backfill.execute({ system: 'billing', batchSize: 3 });
    expect(summary).toMatchObject({ rowsRead: 4, recordsChanged: 4, unmappable: 0 });
    // Binlog off on this machine: the start time, floored to the second (see docs/backfill.md).
    expect(summary.startPosition).toMatch(/^(ts_ms:\d+999|mysql-bin\.\d+:\d+:0)$/);
    const r = await record('billing', '1');
    expect(r).toMatchObject({ customer_id: 'B-000001', status: 'AT_RISK' });
    expect(r.raw).toEqual({ account_id: 1, cust_ref: ' b-000001 ', state: 1, balance_cents: -4200, modified: Date.UTC(2024, 1, 3, 4, 5, 6, 789) });
    expect(await customer('B-000001')).toMatchObject({ status: 'AT_RISK', reason: 'at-risk' });
    expect(await customer('B-000002')).toMatchObject({ status: 'CLOSED', reason: 'closed' });
    expect(await customer('B-000003')).toMatchObject({ status: 'SUSPENDED' });
    expect(await record('billing', '10')).toMatchObject({ status: 'UNKNOWN' });
  });

  it('reports what a dry run would change and writes nothing', async () => {
    await crm.query(`UPDATE crm.customers SET status = 'CLOSED' WHERE id IN (1, 2)`);
    await crmRows(1201, 1203, 'PROSPECT');
    const before = await app.db.query(`SELECT count(*)::int AS n, max(updated_at) AS at FROM source_record`);
    const summary = await backfill.execute({ system: 'crm', dryRun: true, batchSize: 500 });
    expect(summary.dryRun).toMatchObject({ wouldInsert: 3, wouldUpdate: 2, keptNewer: 0, statusChanges: 5 });
    expect(summary.dryRun?.samples).toEqual(
      expect.arrayContaining([{ recordKey: '1', customerId: 'B-000001', from: 'ACTIVE', to: 'CLOSED' }, { recordKey: '1201', customerId: 'B-001201', from: null, to: 'PENDING' }]),
    );
    expect(summary.unchanged).toBe(1198);
    expect(await app.db.query(`SELECT count(*)::int AS n, max(updated_at) AS at FROM source_record`)).toEqual(before);
    expect((await record('crm', '1')).status).toBe('ACTIVE');
  });

  it('counts a row that cannot be used and goes on', async () => {
    await crm.query(`INSERT INTO crm.customers VALUES (1300, '   ', null, 'ACTIVE', now())`);
    const summary = await backfill.execute({ system: 'crm', batchSize: 500 });
    expect(summary.unmappable).toBe(1);
    expect(summary.unmappableSamples).toEqual([{ recordKey: '1300', reason: expect.stringContaining('customer key') }]);
    expect(summary.interrupted).toBe(false);
    expect((await record('crm', '1')).status).toBe('CLOSED');
  });

  it('races live events: older ones are overwritten by the backfill, newer ones win, before or after the row is read', async () => {
    await crm.query(`DELETE FROM crm.customers`);
    await crmRows(2001, 2010, 'ACTIVE');
    const row = (id: number, status: string) => ({ id, customer_no: `B-00${id}`, email: null, status, updated_at: 1 });
    // Applied before the backfill starts, with a position before it: the backfilled (current) row replaces it.
    await liveEvent(log.envelope(CRM, 'u', null, row(2001, 'DORMANT'), { lsn: 10 }), CRM.topic);
    expect((await customer('B-002001'))?.status).toBe('INACTIVE');

    let injected = false;
    const summary = await backfill.execute({
      system: 'crm',
      batchSize: 4,
      // One page at a time, so that "not read yet" is certain when the events arrive.
      concurrency: 1,
      onProgress: async () => {
        if (injected) return;
        injected = true;
        // After the first batch (2001-2004 are in): changes committed after the start, so their lsn is
        // above the start position. One for a row already backfilled, one for a row not read yet
        // (standing for a change the backfill reads too early, before its commit).
        const lsn = (await crm.lsn()) + 1000;
        await liveEvent(log.envelope(CRM, 'u', null, row(2002, 'CLOSED'), { lsn }), CRM.topic);
        await liveEvent(log.envelope(CRM, 'u', null, row(2009, 'CLOSED'), { lsn: lsn + 8 }), CRM.topic);
      },
    });
    expect(summary).toMatchObject({ rowsRead: 10, interrupted: false });
    expect(summary.stale).toBe(1); // row 2009: the newer event already there, the backfilled row is dropped
    expect((await customer('B-002001'))?.status).toBe('PENDING');
    expect(await customer('B-002002')).toMatchObject({ status: 'CLOSED', reason: 'closed' });
    expect(await customer('B-002009')).toMatchObject({ status: 'CLOSED', reason: 'closed' });
    expect((await record('crm', '2009')).raw).toMatchObject({ status: 'CLOSED' });

    // And an event after the whole run, with a later position, wins as well.
    await liveEvent(log.envelope(CRM, 'u', null, row(2005, 'DORMANT'), { lsn: (await crm.lsn()) + 1000 }), CRM.topic);
    expect((await customer('B-002005'))?.status).toBe('INACTIVE');
  });

  it('races live events on MySQL too: by binlog position, or by binlog time when the server keeps no binlog', async () => {
    await billing.query(`DELETE FROM accounts`);
    await billing.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents) VALUES (31, 'R-31', 0, 0), (32, 'R-32', 0, 0), (33, 'R-33', 0, 0)`);
    const acct = (id: number, state: number) => ({ account_id: id, cust_ref: `R-${id}`, state, balance_cents: 0, modified: 1 });
    const summary = await backfill.execute({
      system: 'billing',
      batchSize: 1,
      concurrency: 1,
      onProgress: async (p) => {
        if (p.rowsRead !== 1) return;
        const ts = /^ts_ms:(\d+)$/.exec(p.startPosition);
        const bin = /^(.+):(\d+):\d+$/.exec(p.startPosition);
        // Before the start: one second earlier, or an earlier binlog position. After: the same second, or a later position.
        const older = ts ? { file: 'mysql-bin.000001', pos: 4, ts: Number(ts[1]) - 1000 } : { file: bin![1], pos: Number(bin![2]) - 100 };
        const newer = ts ? { file: 'mysql-bin.000001', pos: 8, ts: Number(ts[1]) + 1 } : { file: bin![1], pos: Number(bin![2]) + 100 };
        await liveEvent(log.envelope(BILLING, 'u', null, acct(32, 9), older), BILLING.topic);
        await liveEvent(log.envelope(BILLING, 'u', null, acct(33, 2), newer), BILLING.topic);
      },
    });
    expect(summary).toMatchObject({ rowsRead: 3, stale: 1 });
    // The older event had applied first, then the backfilled (current) row replaced it.
    expect(await customer('R-32')).toMatchObject({ status: 'ACTIVE' });
    // The newer event was there first and the backfilled row did not overwrite it.
    expect(await customer('R-33')).toMatchObject({ status: 'SUSPENDED' });
  });

  it('keeps a checkpoint per batch and goes on from it with --resume', async () => {
    const checkpoints = ctx.get(BackfillCheckpointStore);
    await crm.query(`DELETE FROM crm.customers`);
    await crmRows(3001, 3020, 'PROSPECT');
    const controller = new AbortController();
    const first = await backfill.execute({
      system: 'crm',
      batchSize: 5,
      concurrency: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.rowsRead === 10) controller.abort();
      },
    });
    expect(first).toMatchObject({ rowsRead: 10, interrupted: true });
    expect(await checkpoints.get('crm')).toMatchObject({ lastKey: ['3010'], rowsRead: 10, finishedAt: null, startPosition: first.startPosition });
    const resumed = await backfill.execute({ system: 'crm', batchSize: 5, resume: true });
    expect(resumed).toMatchObject({ rowsRead: 20, resumedFrom: ['3010'], startPosition: first.startPosition, interrupted: false });
    expect(await checkpoints.get('crm')).toMatchObject({ lastKey: ['3020'], rowsRead: 20, finishedAt: expect.any(Date) });
    // Stored with the first run's start position: a resumed run does not move the race line.
    expect((await record('crm', '3020')).position).toBe(first.startPosition);
    const done = await backfill.execute({ system: 'crm', resume: true });
    expect(done).toMatchObject({ alreadyFinished: true, rowsRead: 0 });
  });

  it('gives the same view through the initial-load path as through the general one, taking the general one for the rows of known customers', async () => {
    await crm.query(`DELETE FROM crm.customers`);
    await crmRows(6001, 6060, 'ACTIVE');
    await crm.query(`UPDATE crm.customers SET status = CASE id % 4 WHEN 0 THEN 'DORMANT' WHEN 1 THEN 'PROSPECT' WHEN 2 THEN 'CLOSED' ELSE 'LEAD' END WHERE id % 5 <> 0`);
    // What COPY's text format must escape, and characters of two to four bytes.
    const tricky = 'tab\there back\\slash\nnew line\r ünïcödé ✓ 😀 "quoted" \\N';
    await crm.query(`UPDATE crm.customers SET email = $1 WHERE id = 6027`, [tricky]);
    const known = log.envelope(BILLING, 'c', null, { account_id: 6001, cust_ref: 'B-006001', state: 1, balance_cents: 0, modified: 1 });
    const ids = Array.from({ length: 60 }, (_, i) => `B-${String(6001 + i).padStart(6, '0')}`);
    const state = async () => ({
      customers: await app.db.query(`SELECT id, status, reason, version, live, rule_set_version FROM customer WHERE id LIKE 'B-006%' ORDER BY id`),
      records: await app.db.query(
        `SELECT system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value, position, deleted
         FROM source_record WHERE customer_id LIKE 'B-006%' ORDER BY system, record_key`,
      ),
      history: await app.db.query(`SELECT customer_id, from_status, to_status, reason, rule_set_version FROM status_history WHERE customer_id LIKE 'B-006%' ORDER BY customer_id, id`),
      views: (
        await gql<{ customers: unknown[] }>(app.url, `query($ids: [ID!]!) { customers(ids: $ids) { id status reason sources { system recordKey status rule raw position } } }`, { ids })
      ).data?.customers,
    });
    const cached: number[] = [];
    const run = async (initialLoad: boolean) => {
      await liveEvent(known, BILLING.topic);
      const summary = await backfill.execute({ system: 'crm', batchSize: 20, initialLoad });
      cached.push((await app.redis.mget(...ids.map((id) => `${app.env.redis.prefix}customer:${id}`))).filter((v) => v !== null).length);
      // Each run stores its own start position: compared as "START".
      const seen = JSON.parse(JSON.stringify(await state()).split(summary.startPosition).join('START'));
      return { summary: { rowsRead: summary.rowsRead, recordsChanged: summary.recordsChanged, customersChanged: summary.customersChanged }, ...seen };
    };

    const general = await run(false);
    await app.db.query(`DELETE FROM source_record WHERE customer_id LIKE 'B-006%'`);
    await app.db.query(`DELETE FROM status_history WHERE customer_id LIKE 'B-006%'`);
    await app.db.query(`DELETE FROM customer WHERE id LIKE 'B-006%'`);
    await app.clearRedis();
    const initial = await run(true);

    // B-006001's status does not move with its crm record (billing's overdue decides): 59 status changes.
    expect(general.summary).toEqual({ rowsRead: 60, recordsChanged: 60, customersChanged: 59 });
    expect(general.customers).toHaveLength(60);
    expect(general.records).toHaveLength(61);
    expect(initial).toEqual(general);
    // The general path caches every view at once; the initial-load path leaves new customers to
    // their first read. B-006001 was known (its billing record came first): its crm row alone took
    // the general path, the 19 other rows of its page the initial-load path.
    expect(cached).toEqual([60, 1]);
    expect(initial.customers[0]).toMatchObject({ id: 'B-006001', status: 'AT_RISK', version: '2' });
    expect(initial.records.filter((r: { unmapped_value: string | null }) => r.unmapped_value === 'LEAD')).toHaveLength(12);
    expect((await record('crm', '6027')).raw.email).toBe(tricky);
  });

  it('falls back to the general path when a live writer stores one of the page\'s records after its check', async () => {
    await crm.query(`DELETE FROM crm.customers`);
    await crmRows(7001, 7003, 'DORMANT');
    // A live writer's transaction that has stored record 7001 (an older state) and not committed yet.
    const writer = new Client({ connectionString: app.env.database.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO source_record (system, record_key, customer_id, raw, status, rule, position_kind, position_key, position)
         VALUES ('crm', '7001', 'B-007001', '{"id": 7001, "status": "ACTIVE"}', 'ACTIVE', 'crm-active', 'lsn', '00000000000000000001', 'lsn:1')`,
      );
      const running = backfill.execute({ system: 'crm', initialLoad: true });
      // The page's COPY waits for the writer's uncommitted row, which its check could not see.
      await waitFor(
        async () =>
          (
            await app.db.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'COPY source_record%'`,
            )
          )[0].n === 1,
        'the page waiting on the record',
      );
      await writer.query('COMMIT');
      const summary = await running;
      expect(summary).toMatchObject({ rowsRead: 3, recordsChanged: 3 });
    } finally {
      await writer.end();
    }
    // The backfilled row (newer than lsn:1) won, through the general path.
    expect(await record('crm', '7001')).toMatchObject({ status: 'INACTIVE', position: expect.stringMatching(/^lsn:\d+$/) });
    expect(await customer('B-007001')).toMatchObject({ status: 'INACTIVE', reason: 'inactive' });
    expect(await customer('B-007003')).toMatchObject({ status: 'INACTIVE' });
  });

  it('takes the general path for a stored record that moved to a customer the view does not know yet', async () => {
    await crm.query(`DELETE FROM crm.customers`);
    await crmRows(8001, 8002, 'ACTIVE');
    expect(await backfill.execute({ system: 'crm' })).toMatchObject({ rowsRead: 2, recordsChanged: 2 });
    // Record 8001 now belongs to a new customer number: its customer is new, the record is not.
    await crm.query(`UPDATE crm.customers SET customer_no = 'M-008001', status = 'DORMANT' WHERE id = 8001`);
    // A page of that record alone: no known customer in it, so only the record's key can stop its initial load.
    const summary = await backfill.execute({ system: 'crm', batchSize: 1 });
    expect(summary).toMatchObject({ rowsRead: 2, recordsChanged: 1, unchanged: 1 });
    expect(await record('crm', '8001')).toMatchObject({ customer_id: 'M-008001', status: 'INACTIVE' });
    expect(await customer('M-008001')).toMatchObject({ status: 'INACTIVE', sources: [expect.objectContaining({ system: 'crm', status: 'INACTIVE' })] });
    // The customer it left has no record any more, exactly as a live update would leave it.
    expect(await customer('B-008001')).toBeNull();
    expect(await app.db.query(`SELECT id, version::int, live FROM customer WHERE id IN ('B-008001', 'M-008001') ORDER BY id`)).toEqual([
      { id: 'B-008001', version: 2, live: false },
      { id: 'M-008001', version: 1, live: true },
    ]);
  });

  // Last: the truncate watermark it leaves is newer than any later start position of this file.
  it('respects a truncate newer than its start: a dry run reports the rows as kept, and a real run stores them deleted', async () => {
    await crm.query(`DELETE FROM crm.customers`);
    await crmRows(4001, 4003, 'ACTIVE');
    // Far ahead: the server's WAL position moves with every database on it, tests of other files included.
    await liveEvent(log.envelope(CRM, 't', null, null, { lsn: (await crm.lsn()) + 1e12 }), CRM.topic);

    const dry = await backfill.execute({ system: 'crm', dryRun: true });
    expect(dry.dryRun).toMatchObject({ wouldInsert: 0, keptNewer: 3, statusChanges: 0 });

    const real = await backfill.execute({ system: 'crm' });
    expect(real).toMatchObject({ rowsRead: 3, customersChanged: 0 });
    expect(await customer('B-004001')).toBeNull();
    expect(await record('crm', '4003')).toMatchObject({ deleted: true });
  });
});

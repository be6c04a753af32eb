import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { directConfigDir, gql, LegacyReplica, TestApp, waitFor } from '@app/testing';

/**
 * The crm and portal systems read straight from their PostgreSQL databases (logical replication,
 * pgoutput), no broker and no Debezium: a row changed in a real legacy table, seen through GraphQL.
 */
describe('direct CDC from PostgreSQL', () => {
  const prefix = `sv_helper_pg_${randomBytes(3).toString('hex')}`;
  let crm: LegacyReplica;
  let portal: LegacyReplica;
  let app: TestApp;
  let configDir: string;

  beforeAll(async () => {
    crm = await LegacyReplica.create(['crm']);
    portal = await LegacyReplica.create(['portal']);
    // A large value goes out of line (TOAST) uncompressed, so an update that leaves it alone does not send it.
    await crm.query(`ALTER TABLE crm.customers ALTER COLUMN email TYPE text, ALTER COLUMN email SET STORAGE EXTERNAL`);
    process.env.TEST_DIRECT_CRM_URL = crm.url;
    process.env.TEST_DIRECT_PORTAL_URL = portal.url;
    configDir = directConfigDir({ crm: 'TEST_DIRECT_CRM_URL', portal: 'TEST_DIRECT_PORTAL_URL' });
    app = await TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: prefix, DIRECT_PG_STATUS_INTERVAL_MS: '200' });
  });

  afterAll(async () => {
    await app?.stop();
    // Slots first (a slot left behind pins WAL on the shared server), whatever happened above.
    await crm?.drop();
    await portal?.drop();
    rmSync(configDir, { recursive: true, force: true });
  });

  type Customer = { status: string; reason: string; sources: Array<{ system: string; recordKey: string; raw: string; position: string }> } | null;
  const customer = async (id: string): Promise<Customer> =>
    (await gql<{ customer: Customer }>(app.url, `query($id: ID!) { customer(id: $id) { status reason sources { system recordKey raw position } } }`, { id })).data!.customer;
  const until = async (id: string, ok: (c: Customer) => boolean, what: string): Promise<Customer> =>
    (
      await waitFor(async () => {
        const c = await customer(id);
        return ok(c) ? { c } : undefined;
      }, what)
    ).c;

  it('creates its slot and publication on first start, named by the prefix and the system', async () => {
    expect((await crm.slots()).map((s) => s.slot_name)).toEqual([`${prefix}_crm`]);
    const { rows } = await crm.query<{ pubname: string; tablename: string }>('SELECT pubname, schemaname || \'.\' || tablename AS tablename FROM pg_publication_tables');
    expect(rows).toEqual([{ pubname: `${prefix}_crm`, tablename: 'crm.customers' }]);
  });

  it('projects inserts, updates and deletes, with Debezium\'s positions and values', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, email, status, updated_at) VALUES (1, ' d-1 ', 'a@example.com', 'PROSPECT', '2024-01-02 03:04:05.123456')`);
    const created = await until('D-1', (c) => c?.status === 'PENDING', 'the insert');
    const src = created!.sources[0];
    expect(src).toMatchObject({ system: 'crm', recordKey: '1' });
    expect(JSON.parse(src.raw)).toEqual({ id: 1, customer_no: ' d-1 ', email: 'a@example.com', status: 'PROSPECT', updated_at: 1704164645123456 });
    expect(src.position).toMatch(/^lsn:\d+$/);

    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 1`);
    await until('D-1', (c) => c?.status === 'INACTIVE', 'the update');

    await portal.query(`INSERT INTO portal.users (user_id, customer_no, registered_at, locked) VALUES ('3f2a9c1e-8b4d-4e2a-9f61-2c7d5b0a1e93', 'D-1', '2023-11-14 22:15:00.123456+00', true)`);
    const locked = await until('D-1', (c) => c?.status === 'SUSPENDED', 'the portal insert');
    const user = locked!.sources.find((s) => s.system === 'portal')!;
    expect(JSON.parse(user.raw)).toEqual({
      user_id: '3f2a9c1e-8b4d-4e2a-9f61-2c7d5b0a1e93',
      customer_no: 'D-1',
      registered_at: '2023-11-14T22:15:00.123456Z',
      first_login_at: null,
      locked: true,
    });

    // Default replica identity: the delete carries the key only, as Debezium's does.
    await portal.query(`DELETE FROM portal.users`);
    await until('D-1', (c) => c?.status === 'INACTIVE' && c.sources.length === 1, 'the delete');
    await crm.query(`DELETE FROM crm.customers WHERE id = 1`);
    await until('D-1', (c) => c === null, 'the customer gone');
  });

  it('positions a change at its own LSN, which is what Debezium carries as source.lsn', async () => {
    // A temporary slot (dropped with its session) with test_decoding shows each change's LSN, as the server logs it.
    const peek = new Client({ connectionString: crm.url });
    await peek.connect();
    try {
      await peek.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding', true)`, [`${prefix}_peek`]);
      await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (10, 'D-10', 'DORMANT')`);
      const { rows } = await peek.query<{ lsn: string }>(
        `SELECT (lsn - '0/0')::text AS lsn FROM pg_logical_slot_peek_changes($1, NULL, NULL) WHERE data LIKE 'table crm.customers: INSERT:%'`,
        [`${prefix}_peek`],
      );
      expect(rows).toHaveLength(1);
      const c = await until('D-10', (x) => x?.status === 'INACTIVE', 'the insert');
      expect(c!.sources[0].position).toBe(`lsn:${rows[0].lsn}`);
    } finally {
      await peek.end();
    }
  });

  it('moves a record to another customer in one update', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (2, 'D-2', 'ACTIVE'), (3, 'D-3', 'DORMANT')`);
    await until('D-3', (c) => c?.status === 'INACTIVE', 'the inserts');
    await crm.query(`UPDATE crm.customers SET customer_no = 'D-3' WHERE id = 2`);
    // ACTIVE in crm and no billing record: PENDING (no-billing-yet).
    await until('D-3', (c) => c?.reason === 'no-billing-yet' && c.sources.length === 2, 'the record at its new customer');
    expect(await customer('D-2')).toBeNull();
  });

  it('keeps a large TOASTed value that an update leaves unchanged', async () => {
    const big = `${randomBytes(12_000).toString('hex')}@example.com`;
    await crm.query(`INSERT INTO crm.customers (id, customer_no, email, status) VALUES (4, 'D-4', $1, 'PROSPECT')`, [big]);
    await until('D-4', (c) => c?.status === 'PENDING', 'the insert');
    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 4`);
    const after = await until('D-4', (c) => c?.status === 'INACTIVE', 'the update');
    expect(JSON.parse(after!.sources[0].raw)).toMatchObject({ email: big, status: 'DORMANT' });
  });

  it('applies a truncate of the table', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (5, 'D-5', 'ACTIVE')`);
    await until('D-5', (c) => c?.status === 'PENDING', 'the insert');
    await crm.query(`TRUNCATE crm.customers`);
    await until('D-5', (c) => c === null, 'the truncate');
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (5, 'D-5', 'CLOSED')`);
    await until('D-5', (c) => c?.status === 'CLOSED', 'an insert after the truncate');
  });

  it('dead-letters a row it cannot map, with the reason, and goes on', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (6, '   ', 'ACTIVE')`);
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (7, 'D-7', 'ACTIVE')`);
    await until('D-7', (c) => c?.status === 'PENDING', 'the row after the bad one');
    const rows: Array<{ payload: string }> = await app.db.query(`SELECT source, ref, code, reason, payload FROM direct_dead_letter WHERE source = 'crm'`);
    expect(rows).toEqual([
      expect.objectContaining({ source: 'crm', code: 'NO_USABLE_ROW', reason: expect.stringContaining('customer key "customer_no" is missing or empty'), ref: expect.stringMatching(/^lsn [0-9A-F]+\/[0-9A-F]+$/) }),
    ]);
    expect(JSON.parse(rows[0].payload)).toMatchObject({ id: 6, customer_no: '   ' });
    // Counted once, as a broker's dead letter is.
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('statusview_messages_dead_lettered_total{code="NO_USABLE_ROW"} 1\n');
  });

  it('a row whose customer key is emptied leaves the customer it had (and is dead-lettered); the key put back brings it back', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (8, 'D-8', 'ACTIVE')`);
    await until('D-8', (c) => c?.status === 'PENDING', 'the insert');
    await crm.query(`UPDATE crm.customers SET customer_no = '   ' WHERE id = 8`);
    // Not kept with its old values: the customer had only this record, so it is gone.
    await until('D-8', (c) => c === null, 'the record withdrawn from its customer');
    const rows: Array<{ code: string }> = await app.db.query(`SELECT code FROM direct_dead_letter WHERE source = 'crm' AND payload::jsonb ->> 'id' = '8'`);
    expect(rows).toEqual([{ code: 'NO_USABLE_ROW' }]);
    await crm.query(`UPDATE crm.customers SET customer_no = 'D-8' WHERE id = 8`);
    await until('D-8', (c) => c?.status === 'PENDING' && c.sources.length === 1, 'the key put back');
  });

  it('acknowledges what is projected, and on a quiet publication follows the server\'s WAL so the slot holds none back', async () => {
    const lsnOf = async () => (await crm.slots())[0].confirmed_flush_lsn!;
    const other = new Client({ connectionString: portal.url });
    await other.connect();
    try {
      // crm is quiet; another database writes. The crm slot's confirmed position follows the server's WAL.
      const before = await lsnOf();
      const { rows } = await other.query<{ lsn: string }>(`CREATE TABLE IF NOT EXISTS busy (x int); INSERT INTO busy SELECT generate_series(1, 1000); SELECT pg_current_wal_lsn()::text AS lsn`).then((r) => (Array.isArray(r) ? r[r.length - 1] : r));
      const written = rows[0].lsn;
      await waitFor(async () => {
        const { rows: cmp } = await crm.query<{ ok: boolean }>(`SELECT $1::pg_lsn >= $2::pg_lsn AS ok`, [await lsnOf(), written]);
        return cmp[0].ok;
      }, `the crm slot's confirmed_flush_lsn to pass ${written} (from ${before})`);
    } finally {
      await other.end();
    }
  });

  it('shows each slot, its lag and the WAL it holds back in /health and /metrics', async () => {
    const health = (await (await fetch(`${app.url}/health`)).json()) as { details: { consumer: Record<string, unknown> } };
    expect(health.details.consumer).toMatchObject({
      status: 'up',
      'direct:crm': { slot: `${prefix}_crm`, publication: `${prefix}_crm`, connected: true, lagBytes: expect.any(Number), lagSeconds: expect.any(Number) },
      'direct:portal': { slot: `${prefix}_portal`, connected: true },
    });
    await waitFor(async () => {
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      return ['crm', 'portal'].every((system) =>
        ['lag_bytes', 'lag_seconds', 'retained_wal_bytes'].every((m) => new RegExp(`^statusview_replication_${m}\\{system="${system}"\\} \\d`, 'm').test(metrics)),
      );
    }, 'the replication gauges of both systems');
  });

  it('a slot dropped while it streams is created again and the table loaded in its snapshot: the view ends equal to the table', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (40, 'D-40', 'ACTIVE'), (41, 'D-41', 'ACTIVE')`);
    await until('D-41', (c) => c?.status === 'PENDING', 'the inserts');
    const slot = `${prefix}_crm`;
    // The table changes while there is no slot: in a transaction open across the drop (a new
    // slot's snapshot waits for it, so its changes are in the load, not in the stream).
    const writer = new Client({ connectionString: crm.url });
    await writer.connect();
    await writer.query('BEGIN');
    await writer.query(`DELETE FROM crm.customers WHERE id = 40`);
    await writer.query(`UPDATE crm.customers SET status = 'CLOSED' WHERE id = 41`);
    // An operator ends the stream and drops the slot.
    await waitFor(async () => {
      await crm.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [slot]);
      const { rows } = await crm.query<{ dropped: boolean }>(
        'SELECT count(pg_drop_replication_slot(slot_name)) = 1 AS dropped FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
        [slot],
      ).catch(() => ({ rows: [{ dropped: false }] }));
      return rows[0]?.dropped;
    }, 'the slot dropped');
    await writer.query('COMMIT');
    await writer.end();
    await until('D-41', (c) => c?.status === 'CLOSED', 'the table loaded in the new slot\'s snapshot');
    await until('D-40', (c) => c === null, 'the deleted row gone');
    expect((await crm.slots()).map((s) => s.slot_name)).toEqual([slot]);
    // Streaming goes on from the new slot.
    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 41`);
    await until('D-41', (c) => c?.status === 'INACTIVE', 'a change streamed from the new slot');
  });

  it('a publication dropped while it streams: the slot and the publication are created again and the table loaded, instead of failing for ever', async () => {
    await crm.query(`INSERT INTO crm.customers (id, customer_no, status) VALUES (50, 'D-50', 'ACTIVE'), (51, 'D-51', 'ACTIVE')`);
    await until('D-51', (c) => c?.status === 'PENDING', 'the inserts');
    // An operator (or a migration) drops the publication; the table goes on changing.
    await crm.query(`DROP PUBLICATION ${prefix}_crm`);
    await crm.query(`DELETE FROM crm.customers WHERE id = 50`);
    await crm.query(`UPDATE crm.customers SET status = 'CLOSED' WHERE id = 51`);
    await until('D-51', (c) => c?.status === 'CLOSED', 'the table loaded again');
    await until('D-50', (c) => c === null, 'the deleted row gone');
    const { rows } = await crm.query<{ pubname: string }>('SELECT pubname FROM pg_publication');
    expect(rows).toEqual([{ pubname: `${prefix}_crm` }]);
    expect((await crm.slots()).map((s) => s.slot_name)).toEqual([`${prefix}_crm`]);
    await crm.query(`UPDATE crm.customers SET status = 'DORMANT' WHERE id = 51`);
    await until('D-51', (c) => c?.status === 'INACTIVE', 'a change streamed after it');
  });

  it('a stream the server ends as soon as it starts is opened again with backoff, not in a loop', async () => {
    // Every stream on the slot ended by the server the moment it is seen, for 3 s.
    const killer = new Client({ connectionString: crm.url });
    await killer.connect();
    const streams = new Set<number>();
    try {
      const end = Date.now() + 3_000;
      while (Date.now() < end) {
        const { rows } = await killer.query<{ pid: number }>(`SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [`${prefix}_crm`]);
        for (const { pid } of rows) {
          streams.add(pid);
          await killer.query('SELECT pg_terminate_backend($1)', [pid]);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await killer.end();
    }
    // Opened again each time, but after 100, 200, 400 ms… up to CDC_RETRY_MAX_MS (500 ms in the
    // tests): about 9 streams in 3 s, where opening at once made dozens.
    expect(streams.size).toBeGreaterThan(2);
    expect(streams.size).toBeLessThanOrEqual(12);
    await crm.query(`UPDATE crm.customers SET status = 'ACTIVE' WHERE id = 51`);
    await until('D-51', (c) => c?.status === 'PENDING', 'a change streamed once the server lets the stream be');
  });
});

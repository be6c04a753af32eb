import { DirectDeadLetterStore, SourceCheckpointStore } from '@app/projection';
import { gql, LegacyMysqlDatabase, TestApp, waitFor } from '@app/testing';

/**
 * billing read straight from MariaDB's binlog (`changes: direct`): rows written to a real legacy
 * table on this machine's MariaDB are seen through GraphQL, with no Debezium and no broker in
 * between. The test file has a database of its own on the shared server and a copy of the
 * configuration with billing direct; the server's settings are never changed.
 */
const CUSTOMER = `query($id: ID!) { customer(id: $id) { id status sources { system recordKey status raw position } } }`;
type Customer = { id: string; status: string; sources: Array<{ system: string; recordKey: string; status: string; raw: string; position: string | null }> };

describe('billing read directly from the MariaDB binlog', () => {
  let legacy: LegacyMysqlDatabase;
  let app: TestApp;

  const customer = async (id: string) => (await gql<{ customer: Customer | null }>(app.url, CUSTOMER, { id })).data?.customer ?? null;
  const billingOf = async (id: string) => (await customer(id))?.sources.find((s) => s.system === 'billing') ?? null;
  const until = <T>(probe: () => Promise<T | null | undefined | false>, what: string) => waitFor(probe, what, 15_000);

  beforeAll(async () => {
    legacy = await LegacyMysqlDatabase.create();
    process.env.LEGACY_BILLING_URL = legacy.url;
    app = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' });
  });
  afterAll(async () => {
    await app?.stop();
    await legacy?.drop();
    delete process.env.LEGACY_BILLING_URL;
  });

  it('projects inserts, updates and deletes of the legacy table, at the positions Debezium would give', async () => {
    const before = await legacy.binlogEnd();
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES (1, ' b-000001 ', 0, 100, '2024-05-01 10:00:00.123')`);
    const inserted = await until(async () => (await customer('B-000001'))?.status === 'ACTIVE' && billingOf('B-000001'), 'the insert');
    expect(JSON.parse(inserted.raw)).toEqual({ account_id: 1, cust_ref: ' b-000001 ', state: 0, balance_cents: 100, modified: Date.UTC(2024, 4, 1, 10, 0, 0, 123) });
    // Debezium's source.file, source.pos (where the rows event starts) and source.row.
    const [file, pos, row] = (inserted.position ?? '').split(':');
    expect(file).toBe(before.file);
    expect(Number(pos)).toBeGreaterThan(before.pos);
    expect(row).toBe('0');

    await legacy.query(`UPDATE accounts SET state = 1 WHERE account_id = 1`);
    await until(async () => (await customer('B-000001'))?.status === 'AT_RISK', 'the update');

    await legacy.query(`DELETE FROM accounts WHERE account_id = 1`);
    await until(async () => (await customer('B-000001')) === null, 'the delete');
  });

  it('moves a record to another customer when its customer key changes', async () => {
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (2, 'B-000002', 2)`);
    await until(async () => (await customer('B-000002'))?.status === 'SUSPENDED', 'the first customer');
    await legacy.query(`UPDATE accounts SET cust_ref = 'b-000003' WHERE account_id = 2`);
    await until(async () => (await customer('B-000003'))?.status === 'SUSPENDED', 'the record at its new customer');
    expect(await customer('B-000002')).toBeNull();
  });

  it('applies every row of a multi-row statement and a multi-statement transaction', async () => {
    const values = Array.from({ length: 50 }, (_, i) => `(${100 + i}, 'B-1${String(i).padStart(5, '0')}', ${i % 2 === 0 ? 0 : 9})`).join(', ');
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES ${values}`);
    await legacy.query(`BEGIN; UPDATE accounts SET state = 2 WHERE account_id = 100; UPDATE accounts SET state = 0 WHERE account_id = 101; COMMIT`);
    await until(async () => (await customer('B-100049'))?.status === 'CLOSED', 'the last row');
    await until(async () => (await customer('B-100001'))?.status === 'ACTIVE' && (await customer('B-100000'))?.status === 'SUSPENDED', 'the transaction');
  });

  it('keeps streaming across a binlog rotation (FLUSH BINARY LOGS)', async () => {
    const before = await legacy.binlogEnd();
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (300, 'B-000300', 0)`);
    await legacy.query('FLUSH BINARY LOGS');
    const after = await legacy.binlogEnd();
    expect(after.file).not.toBe(before.file);
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (301, 'B-000301', 1)`);
    const rotated = await until(async () => (await customer('B-000301'))?.status === 'AT_RISK' && billingOf('B-000301'), 'a row after the rotation');
    expect(rotated.position?.split(':')[0]).toBe(after.file);
    expect((await customer('B-000300'))?.status).toBe('ACTIVE');
  });

  it('commits the checkpoint with the batches: it stands after the last transaction applied', async () => {
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (400, 'B-000400', 0)`);
    await until(async () => (await customer('B-000400'))?.status === 'ACTIVE', 'the row');
    const end = await legacy.binlogEnd();
    const checkpoints = app.running.app.get(SourceCheckpointStore);
    const checkpoint = await until(async () => {
      const c = await checkpoints.last('billing');
      return c && c.position.text === `${end.file}:${end.pos}:0` && c;
    }, 'the checkpoint at the binlog end');
    expect(checkpoint.position.kind).toBe('binlog');
    // MariaDB's GTID of the transaction it follows (domain-server-sequence), kept for operators.
    expect(checkpoint.gtid).toMatch(/^\d+-\d+-\d+$/);
  });

  it('truncates the system when the table is truncated', async () => {
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (500, 'B-000500', 0)`);
    await until(async () => (await customer('B-000500'))?.status === 'ACTIVE', 'the row');
    await legacy.query('TRUNCATE TABLE accounts');
    await until(async () => (await customer('B-000500')) === null, 'the truncate');
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (501, 'B-000501', 0)`);
    await until(async () => (await customer('B-000501'))?.status === 'ACTIVE', 'a row after the truncate');
  });

  it('dead-letters a row it cannot map, with the reason, and goes on', async () => {
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (600, '   ', 0)`);
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (601, 'B-000601', 0)`);
    await until(async () => (await customer('B-000601'))?.status === 'ACTIVE', 'the row after the bad one');
    const letters = await app.running.app.get(DirectDeadLetterStore).latest('billing');
    expect(letters).toEqual([expect.objectContaining({ code: 'NO_USABLE_ROW', reason: expect.stringMatching(/customer key "cust_ref"/), payload: expect.objectContaining({ account_id: 600 }) })]);
  });

  it('dead-letters a change logged as a statement (binlog_format=STATEMENT in its session), saying why', async () => {
    const writer = await LegacyMysqlDatabase.connect(legacy.url);
    try {
      await writer.query(`SET SESSION binlog_format = 'STATEMENT'`);
      await writer.query(`UPDATE accounts SET state = 9 WHERE account_id = 601`);
    } finally {
      await writer.end();
    }
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (602, 'B-000602', 0)`);
    await until(async () => (await customer('B-000602'))?.status === 'ACTIVE', 'the row after the statement');
    const letters = await app.running.app.get(DirectDeadLetterStore).latest('billing');
    expect(letters[0]).toEqual(expect.objectContaining({ code: 'STATEMENT_LOGGED', reason: expect.stringMatching(/logged as a statement.*binlog_format=ROW/) }));
    expect((await customer('B-000601'))?.status).toBe('ACTIVE');
  });

  it('reconnects when the binlog connection is killed, and loses nothing of what was written meanwhile', async () => {
    type Source = { connectionId: number | null; reconnects: number; connected: boolean };
    const source = async () => ((await (await fetch(`${app.url}/health`)).json()) as { details: { consumer: Record<string, Source> } }).details.consumer['direct:billing'];
    const before = await source();
    expect(before.connectionId).toEqual(expect.any(Number));
    await legacy.query(`KILL CONNECTION ${before.connectionId}`);
    await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (700, 'B-000700', 1)`);
    await until(async () => (await customer('B-000700'))?.status === 'AT_RISK', 'the row written while the stream was down');
    const after = await source();
    expect(after.reconnects).toBeGreaterThanOrEqual(1);
    expect(after.connectionId).not.toBe(before.connectionId);
  });

  it('shows the source and its binlog lag in /health', async () => {
    const health = (await (await fetch(`${app.url}/health`)).json()) as { details?: Record<string, unknown> };
    const text = JSON.stringify(health);
    expect(text).toMatch(/direct:billing/);
    expect(text).toMatch(/lagBytes/);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/statusview_binlog_lag_bytes\{source="billing"\}/);
  });
});

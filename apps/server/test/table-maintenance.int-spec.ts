import { DataSource } from 'typeorm';
import { openDatabase, TableVacuum } from '@app/projection';
import { CRM, gql, TestApp, waitFor } from '@app/testing';

/** What keeps the churny tables near their live size in a long run, and what shows it to an operator. */
describe('table maintenance', () => {
  let app: TestApp;
  let db: DataSource;
  beforeAll(async () => {
    // The outbox's dead rows are what the vacuum test needs: no compaction (which would truncate them away).
    app = await TestApp.start({ OUTBOX_COMPACT_BYTES: '0' });
    // A pool of one, as a small tool opens it (it used to wait for itself while migrating).
    db = await openDatabase(process.env.TEST_DATABASE_URL as string, 1);
  });
  afterAll(async () => {
    await db?.destroy();
    await app?.stop();
  });

  it('shows the size, index size and dead rows of each growing table in /metrics', async () => {
    await app.event(CRM, 'c', null, { id: 1, customer_no: 'TM-1', email: null, status: 'ACTIVE', updated_at: 1 });
    await waitFor(async () => (await gql<{ customer: { status: string } | null }>(app.url, '{ customer(id: "TM-1") { status } }')).data?.customer?.status, 'the event applied');

    const text = await (await fetch(`${app.url}/metrics`)).text();
    const value = (series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
    for (const table of ['customer', 'source_record', 'status_history', 'status_outbox']) {
      expect(value(`statusview_table_bytes{table="${table}"}`)).toBeGreaterThan(0);
      expect(value(`statusview_table_index_bytes{table="${table}"}`)).toBeGreaterThan(0);
      expect(value(`statusview_table_dead_rows{table="${table}"}`)).toBeGreaterThanOrEqual(0);
    }
    const [{ bytes }] = await db.query("SELECT pg_table_size('customer') AS bytes");
    expect(value('statusview_table_bytes{table="customer"}')).toBe(Number(bytes));
  });

  it('vacuums the outbox after a fixed number of dead rows, and leaves room for in-place updates of customers and records', async () => {
    const rows: Array<{ relname: string; reloptions: string[] }> = await db.query(
      "SELECT relname, reloptions FROM pg_class WHERE relname IN ('status_outbox', 'customer', 'source_record') AND relkind = 'r' ORDER BY relname",
    );
    const options = Object.fromEntries(rows.map((r) => [r.relname, r.reloptions]));
    expect(options.status_outbox).toEqual(expect.arrayContaining(['autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=1000']));
    for (const t of ['customer', 'source_record']) expect(options[t]).toEqual(expect.arrayContaining(['fillfactor=85', 'autovacuum_vacuum_scale_factor=0.02']));
  });

  it('vacuums its churny tables itself past their thresholds (for a server with autovacuum off), and counts it', async () => {
    // 1,200 status changes relayed and deleted from the outbox: more dead rows than its threshold.
    for (let i = 0; i < 1200; i++) await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, { id: 10_000 + i, customer_no: `TV-${i}`, email: null, status: 'ACTIVE', updated_at: 1 }));
    const outbox = async () => (await db.query("SELECT n_dead_tup::int AS dead, (SELECT count(*)::int FROM status_outbox) AS rows FROM pg_stat_user_tables WHERE relname = 'status_outbox'"))[0];
    await waitFor(async () => {
      const o = await outbox();
      return o.rows === 0 && o.dead > 1000;
    }, 'the changes relayed, leaving dead rows', 30_000);
    const counted = async () => Number(/^statusview_table_vacuums_total\{table="status_outbox"\} (\d+)/m.exec(await (await fetch(`${app.url}/metrics`)).text())?.[1] ?? 0);
    const before = await counted();

    const vacuums = async () => Number((await db.query("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'status_outbox'"))[0].vacuum_count);
    const vacuumsBefore = await vacuums();

    const round = await app.running.app.get(TableVacuum).round();

    // Only the table past its threshold: the customers were inserted, never updated.
    expect(round).toMatchObject({ ran: true, vacuumed: expect.arrayContaining(['status_outbox']) });
    expect(round.vacuumed).not.toContain('customer');
    // PostgreSQL counts the VACUUM (a manual one: autovacuum has its own count). Whether it could
    // reclaim every dead row is PostgreSQL's: an old snapshot anywhere on the server (another
    // database's replication slot being created, say) keeps them for a later round.
    await waitFor(async () => (await vacuums()) === vacuumsBefore + 1, 'the VACUUM counted by PostgreSQL');
    expect((await counted()) - before).toBe(1);
  });

  it('skips a round while another instance holds it, and runs once it is free', async () => {
    // Another instance's round: its session holds the vacuum lock.
    const other = await openDatabase(process.env.TEST_DATABASE_URL as string, 1);
    const runner = other.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock(7317003)');
      expect(await app.running.app.get(TableVacuum).round()).toEqual({ vacuumed: [], ran: false });
      await runner.query('SELECT pg_advisory_unlock(7317003)');
      expect((await app.running.app.get(TableVacuum).round()).ran).toBe(true);
    } finally {
      await runner.release();
      await other.destroy();
    }
  });
});

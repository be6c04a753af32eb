import { DataSource } from 'typeorm';
import { positionOf } from '@app/change-events';
import { openDatabase, PreparedChange, ProjectionSeeder, SourceRecordRepository } from '@app/projection';
import { copyRowsIn } from '../src/store/copy-in';

/** Bulk writes for benchmark data, read back through the projection's own repositories. */
describe('ProjectionSeeder', () => {
  let db: DataSource;
  const system = `seeded_${process.pid}`;
  const prefix = `SEEDED-${process.pid}-`;
  const table = `copy_rows_refused_${process.pid}`;
  const at = new Date(Date.UTC(2024, 0, 1));

  const record = (i: number): PreparedChange => ({
    system,
    recordKey: String(i),
    customerId: `${prefix}${i}`,
    deleted: false,
    raw: { id: i, note: 'tab\there, quote " and backslash \\', state: i % 3 },
    status: 'ACTIVE',
    rule: 'seeded',
    unmapped: i % 2 ? null : { field: 'state', value: String(i % 3) },
    position: positionOf({ lsn: i, ts_ms: at.getTime() }, null),
  });

  beforeAll(async () => {
    db = await openDatabase(process.env.TEST_DATABASE_URL as string, 2);
  });

  afterAll(async () => {
    await db?.query(`DELETE FROM source_record WHERE system = $1`, [system]).catch(() => undefined);
    await db?.query(`DELETE FROM customer WHERE id LIKE $1`, [`${prefix}%`]).catch(() => undefined);
    await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db?.query(`DROP FUNCTION IF EXISTS ${table}_slow()`).catch(() => undefined);
    await db?.destroy();
  });

  it('stores records and customers as the projection reads them: by key, in key order, counted', async () => {
    const seeder = new ProjectionSeeder(db);
    const records = new SourceRecordRepository(db);
    const before = await seeder.customerCount();
    // More rows than one streamed read, written highest key first.
    const n = 1500;
    const written = await seeder.writeRecords(
      (function* () {
        for (let i = n; i >= 1; i--) yield record(i);
      })(),
      at,
    );
    const customers = await seeder.writeCustomers(
      Array.from({ length: n }, (_, k) => ({ id: `${prefix}${k + 1}`, status: 'ACTIVE', reason: 'seeded' })),
      { ruleSetVersion: 1, at },
    );

    expect([written, customers]).toEqual([n, n]);
    expect(await seeder.customerCount()).toBe(before + n);
    const stored = await records.byKeys(system, ['2', '9']);
    expect(stored.get('2')).toEqual({
      recordKey: '2',
      customerId: `${prefix}2`,
      raw: record(2).raw,
      status: 'ACTIVE',
      rule: 'seeded',
      deleted: false,
      position: record(2).position,
    });
    expect(stored.get('9')?.position.text).toBe('lsn:9');
    const cursor = await records.inKeyOrder(system, ['integer'], { pageSize: 400, applicationName: 'seeder-test' });
    const keys: string[] = [];
    try {
      for (let page = await cursor.read(); page.length > 0; page = await cursor.read()) keys.push(...page.map((r) => r.recordKey));
    } finally {
      await cursor.close();
    }
    expect(keys).toEqual(Array.from({ length: n }, (_, k) => String(k + 1)));
  });

  it('refuses a known key while the rest is still being made and sent, with the key error and nothing written; the process goes on', async () => {
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    // PostgreSQL reads the rows slowly, so that the stream waits for the socket to drain when the duplicate is found.
    await db.query(`CREATE FUNCTION ${table}_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER slow BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_slow()`);
    await db.query(`INSERT INTO ${table} VALUES (1500, 'there first')`);
    const filler = 'x'.repeat(200);
    let made = 0;
    function* rows(): Generator<string[]> {
      for (let id = 1; id <= 100_000; id++) {
        made++;
        yield [String(id), filler];
      }
    }

    await expect(db.transaction((em) => copyRowsIn(em, `COPY ${table} (id, v) FROM STDIN`, rows()))).rejects.toMatchObject({ code: '23505' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await db.query(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 1 }]);
    // Rows are made as they are sent: the refusal stopped the making well before the end.
    expect(made).toBeLessThan(100_000);
  }, 60_000);
});

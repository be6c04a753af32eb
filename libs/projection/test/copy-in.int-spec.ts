import { DataSource } from 'typeorm';
import { openDatabase } from '@app/projection';
import { copyIn, CopyText } from '../src/store/copy-in';

/** COPY … FROM STDIN against the test run's PostgreSQL. */
describe('COPY into PostgreSQL', () => {
  let db: DataSource;
  const table = `copy_refused_${process.pid}`;

  beforeAll(async () => {
    db = await openDatabase(process.env.TEST_DATABASE_URL as string, 2);
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    // PostgreSQL reads the rows slowly, so that the client has filled the socket's buffers and
    // waits for them to drain when the duplicate key is found.
    await db.query(`CREATE FUNCTION ${table}_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER slow BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_slow()`);
    await db.query(`INSERT INTO ${table} VALUES (1500, 'there first')`);
  });

  afterAll(async () => {
    await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db?.query(`DROP FUNCTION IF EXISTS ${table}_slow()`).catch(() => undefined);
    await db?.destroy();
  });

  it('refuses a page with a known key, while the rest of it is still being sent, with the key error and nothing written; the process goes on', async () => {
    const rows = new CopyText();
    const filler = 'x'.repeat(200);
    // About 20 MB: more than the socket's buffers hold.
    for (let id = 1; id <= 100_000; id++) rows.row([String(id), filler]);

    await expect(db.transaction((em) => copyIn(em, `COPY ${table} (id, v) FROM STDIN`, rows))).rejects.toMatchObject({ code: '23505' });
    // Once the server has dropped the rest of the page.
    await new Promise((r) => setTimeout(r, 500));
    expect(await db.query(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 1 }]);
  }, 60_000);
});

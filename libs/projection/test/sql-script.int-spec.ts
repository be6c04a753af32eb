import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { openDatabase } from '@app/projection';
import { inline, runScript, ScriptTransaction, Statement } from '../src/store/sql-script';

/** Statements sent as one script (the simple query protocol), against the test run's PostgreSQL. */
describe('statements as one script', () => {
  let db: DataSource;
  let other: Client;
  const table = `script_${process.pid}`;

  beforeAll(async () => {
    db = await openDatabase(process.env.TEST_DATABASE_URL as string, 2);
    other = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await other.connect();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
  });

  afterAll(async () => {
    await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await other?.end().catch(() => undefined);
    await db?.destroy();
  });

  beforeEach(() => db.query(`TRUNCATE ${table}`));

  const hostile = [
    "it's",
    'back\\slash \\\\ and "quotes"',
    '$$ dollar $1 $2$ $sv$ $tag$',
    '{braces}, commas, "NULL"',
    'NULL',
    '',
    'line\nbreak\ttab\r',
    'üñíçødé 漢字 😀',
    'x'.repeat(10_000),
  ];

  it('writes every value in as the parameter it replaces: what PostgreSQL reads is what the extended protocol gives', async () => {
    const s: Statement = {
      sql: `SELECT $1::text AS t, $2::text[] AS a, $3::jsonb AS j, $4::timestamptz AS ts, $5::bigint AS n, $6::boolean AS b, $7::int[] AS ints, $8::timestamptz[] AS times, $9::text AS nothing`,
      params: [hostile.join('|'), [...hostile, null], { hostile, nested: { n: 1.5, none: null } }, new Date(1_700_000_000_123), '9007199254740993', false, [1, -2, 3], [new Date(0), '2024-02-29T12:00:00Z'], null],
    };
    const client = await (db.driver as unknown as { master: { connect(): Promise<Client & { release(): void }> } }).master.connect();
    try {
      const [scripted] = await runScript(client, [s]);
      const extended = (await client.query(s.sql, [...s.params])).rows;
      expect(scripted).toEqual(extended);
      expect((scripted[0] as { a: unknown[] }).a).toEqual([...hostile, null]);
    } finally {
      client.release();
    }
  });

  it("a value that holds the literals' quote tag gets a tag of its own", async () => {
    const first = inline({ sql: 'SELECT $1::text', params: ['x'] });
    const tag = first.slice('SELECT '.length, first.indexOf('x'));
    const value = `before ${tag} after ${tag}`;
    expect(await db.query(inline({ sql: 'SELECT $1::text AS v', params: [value] }))).toEqual([{ v: value }]);
    // A value ending in the tag without its last "$" would make the tag with the closing one.
    const suffix = `ends in ${tag.slice(0, -1)}`;
    expect(await db.query(inline({ sql: 'SELECT $1::text AS v, $2::text AS w', params: [suffix, 'second'] }))).toEqual([{ v: suffix, w: 'second' }]);
  });

  it('refuses a NUL in a text value as data (a RangeError), before sending anything', () => {
    expect(() => inline({ sql: 'SELECT $1::text', params: ['a\u0000b'] })).toThrow(RangeError);
    expect(() => inline({ sql: 'SELECT $1::text[]', params: [['ok', 'a\u0000b']] })).toThrow(RangeError);
    expect(() => inline({ sql: 'SELECT $1::float8', params: [Number.NaN] })).toThrow(RangeError);
    expect(() => inline({ sql: 'SELECT $2::text', params: ['one'] })).toThrow(/refers to \$2/);
  });

  it('each statement after a lock has a snapshot of its own: it sees what the lock holder committed while it waited', async () => {
    // The lock holder inserts a row and keeps its transaction open.
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock(7319001)');
    await other.query(`INSERT INTO ${table} VALUES (1, 'committed while the script waited')`);
    const scripted = ScriptTransaction.within(db, (tx) =>
      tx.commit([
        { sql: 'SELECT pg_advisory_xact_lock(7319001)', params: [] },
        { sql: `SELECT v FROM ${table}`, params: [] },
      ]),
    );
    // One statement that locks and reads in one snapshot would read the table as it was before the lock.
    const single = (async () => {
      const c = new Client({ connectionString: process.env.TEST_DATABASE_URL });
      await c.connect();
      try {
        return (await c.query(`SELECT (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(7319001)) l) AS locked, (SELECT count(*)::int FROM ${table}) AS n`)).rows[0];
      } finally {
        await c.end();
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await other.query('COMMIT');
    const [, read] = await scripted;
    expect(read).toEqual([{ v: 'committed while the script waited' }]);
    expect(await single).toMatchObject({ n: 0 });
  });

  it('a transaction that fails is rolled back, one that returns without committing too, and the pool keeps working', async () => {
    await expect(
      ScriptTransaction.within(db, async (tx) => {
        await tx.run([{ sql: `INSERT INTO ${table} VALUES ($1, $2)`, params: [1, 'rolled back'] }]);
        await tx.commit([{ sql: `INSERT INTO ${table} VALUES ($1, $2)`, params: [1, 'duplicate key'] }]);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    await ScriptTransaction.within(db, (tx) => tx.run([{ sql: `INSERT INTO ${table} VALUES ($1, $2)`, params: [2, 'never committed'] }]));
    await ScriptTransaction.within(db, (tx) => tx.commit([{ sql: `INSERT INTO ${table} VALUES ($1, $2)`, params: [3, 'committed'] }]));
    expect(await db.query(`SELECT id, v FROM ${table} ORDER BY id`)).toEqual([{ id: 3, v: 'committed' }]);
    // A work that catches a failed script and commits anyway commits nothing, and says so; one that
    // catches a commit refused before it was sent leaves no transaction (nor its locks) open.
    await expect(
      ScriptTransaction.within(db, async (tx) => {
        await tx.run([{ sql: `INSERT INTO ${table} VALUES ($1, $2)`, params: [4, 'before the failure'] }]);
        await tx.run([{ sql: `INSERT INTO ${table} VALUES ($1, $2)`, params: [3, 'duplicate key'] }]).catch(() => undefined);
        await tx.commit();
      }),
    ).rejects.toThrow(/can only roll back/);
    await ScriptTransaction.within(db, async (tx) => {
      await tx.run([{ sql: 'SELECT pg_advisory_xact_lock(7319002)', params: [] }]);
      await tx.commit([{ sql: `INSERT INTO ${table} VALUES ($1, $2)`, params: [5, 'a\u0000b'] }]).catch(() => undefined);
    });
    expect(await db.query(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 3 }]);
    expect((await other.query('SELECT pg_try_advisory_xact_lock(7319002) AS free')).rows).toEqual([{ free: true }]);
    // Both connections of the pool of two are free again: two transactions at once still run.
    await Promise.all([1, 2].map((n) => ScriptTransaction.within(db, (tx) => tx.commit([{ sql: 'SELECT pg_sleep(0.05), $1::int', params: [n] }]))));
  });
});

import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DEAD_LETTER_MAX_PAYLOAD_CHARS, DirectDeadLetterStore, openDatabase } from '@app/projection';

/** The direct sources' dead letters in the test run's PostgreSQL (migrated by the global setup). */
describe('direct dead letters', () => {
  let db: DataSource;
  let store: DirectDeadLetterStore;
  const source = `dl_${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    db = await openDatabase(process.env.TEST_DATABASE_URL as string, 2);
    store = new DirectDeadLetterStore(db);
  });

  afterAll(async () => {
    await db?.query('DELETE FROM direct_dead_letter WHERE source = $1', [source]).catch(() => undefined);
    await db?.destroy();
  });

  it('keeps a change once when it is dead-lettered again after a restart, with its reason and payload', async () => {
    const entry = { source, ref: 'lsn 0/16B3748', code: 'KEY_NOT_SCALAR', reason: 'customer_no is an object', payload: { customer_no: { a: 1 }, note: 'nul \u0000 kept' } };
    await store.put([entry]);
    await store.put([entry, { ...entry, ref: 'lsn 0/16B3790' }]);

    const stored = await store.latest(source);
    expect(stored.map((d) => d.ref)).toEqual(['lsn 0/16B3790', 'lsn 0/16B3748']);
    expect(stored[1]).toMatchObject({ code: 'KEY_NOT_SCALAR', reason: 'customer_no is an object', payload: entry.payload });
  });

  it('bounds what it stores: a huge payload keeps its size and its head, a huge reason is cut', async () => {
    await store.put([{ source, ref: 'binlog.000003:4711#0', code: 'TOO_LARGE', reason: 'r'.repeat(100_000), payload: { blob: 'x'.repeat(DEAD_LETTER_MAX_PAYLOAD_CHARS * 4), raw: Buffer.from('hi') } }]);

    const [d] = await store.latest(source, 1);
    expect(d.reason.length).toBeLessThanOrEqual(2_000);
    expect(d.payload).toMatchObject({ truncated: true, chars: expect.any(Number) });
    expect((d.payload as { chars: number }).chars).toBeGreaterThan(DEAD_LETTER_MAX_PAYLOAD_CHARS * 4);
    expect(((d.payload as { head: string }).head).length).toBeLessThanOrEqual(4_096);
  });

  it('shows a Buffer as base64, not as an array of bytes', async () => {
    await store.put([{ source, ref: 'buffer', code: 'X', reason: 'x', payload: { raw: Buffer.from('hi') } }]);
    const [d] = await store.latest(source, 1);
    expect(d.payload).toEqual({ raw: Buffer.from('hi').toString('base64') });
  });
});

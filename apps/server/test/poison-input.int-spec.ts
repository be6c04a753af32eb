import { randomBytes } from 'node:crypto';
import { Row, TableRef } from '@app/cdc';
import { BILLING, CRM, gql, PORTAL, TestApp, waitFor } from '@app/testing';

/** Random text, which PostgreSQL cannot compress below its index limit the way it would a repeated character. */
const noise = (length: number): string => randomBytes(length).toString('base64url').slice(0, length);
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/**
 * Poison input: one event that the store, the ordering or the code after the decoder cannot take.
 * Each kind is dead-lettered with its reason within seconds, and the events after it are applied
 * (before these limits, most of them were retried for ever and nothing after them was applied).
 */
describe('poison input', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start();
    // An index a DBA added, which the decoder knows nothing of: what PostgreSQL refuses in it
    // (54000, index row too large) is isolated by the store's answer.
    await app.db.query(`CREATE INDEX poison_email_idx ON source_record ((raw ->> 'email'))`);
  });
  afterAll(async () => {
    await app.db.query('DROP INDEX IF EXISTS poison_email_idx');
    await app.stop();
  });

  const status = async (id: string) =>
    (await gql<{ customer: { status: string } | null }>(app.url, `query($id: ID!) { customer(id: $id) { status } }`, { id })).data?.customer?.status;
  const deadLetters = async (count: number) => {
    const dead: Array<{ body: string; headers: Record<string, unknown> }> = [];
    await waitFor(
      async () => {
        dead.push(...(await app.drainDeadLetters()));
        return dead.length >= count;
      },
      `${count} dead letter(s)`,
      5000,
    );
    // Anything dead-lettered by mistake along with it would be in the queue by now as well.
    dead.push(...(await app.drainDeadLetters()));
    return dead;
  };

  let next = 1000;
  const crmRow = (customerNo: string, patch: Row = {}): Row => ({ id: next++, customer_no: customerNo, email: null, status: 'ACTIVE', updated_at: 1, ...patch });
  /** An envelope as text, with `placeholder` (a JSON string in it) replaced by `text`: for what JSON.stringify cannot write. */
  const withText = (t: TableRef, after: Row, replace: Record<string, string>): string => {
    let body = JSON.stringify(app.log.envelope(t, 'c', null, after));
    for (const [from, to] of Object.entries(replace)) body = body.replace(from, to);
    return body;
  };

  type Poison = [name: string, topic: string, body: () => string, code: string, reason: RegExp];
  const poisons: Poison[] = [
    ['a customer_no of 3,000 characters', CRM.topic, () => JSON.stringify(app.log.envelope(CRM, 'c', null, crmRow(noise(3000)))), 'KEY_TOO_LONG', /customer key "customer_no" is 3000 characters, longer than CDC_MAX_KEY_LENGTH \(512\)/],
    [
      'a record key of 10,000 characters',
      PORTAL.topic,
      () => JSON.stringify(app.log.envelope(PORTAL, 'c', null, { user_id: noise(10_000), customer_no: 'P-LONGKEY', registered_at: null, first_login_at: null, locked: false })),
      'KEY_TOO_LONG',
      /record key column "user_id" is 10000 characters/,
    ],
    ['a field nested 5,000 deep', CRM.topic, () => withText(CRM, crmRow('P-DEEP', { email: '<deep>' }), { '"<deep>"': nested(5000) }), 'TOO_DEEP', /nested deeper than CDC_MAX_DEPTH \(64\)/],
    ['a message of 2 MiB', CRM.topic, () => JSON.stringify(app.log.envelope(CRM, 'c', null, crmRow('P-HUGE', { email: noise(2 * 1024 * 1024) }))), 'TOO_LARGE', /larger than CDC_MAX_MESSAGE_BYTES \(1048576\)/],
    ['an lsn of 123456789012345678901 (a JSON number, rounded by JSON.parse)', CRM.topic, () => withText(CRM, crmRow('P-LSN-BIG'), { '"lsn":': '"lsn":123456789012345678901,"was":' }), 'BAD_POSITION', /source\.lsn 123456789012345680000 is beyond 2\^53/],
    ['an lsn of "123456789012345678901" (a digit string past 64 bits)', CRM.topic, () => withText(CRM, crmRow('P-LSN-STR'), { '"lsn":': '"lsn":"123456789012345678901","was":' }), 'BAD_POSITION', /is larger than 18446744073709551615/],
    ['an lsn of 1e21', CRM.topic, () => withText(CRM, crmRow('P-LSN-EXP'), { '"lsn":': '"lsn":1e21,"was":' }), 'BAD_POSITION', /source\.lsn 1e\+21/],
    ['a negative lsn', CRM.topic, () => withText(CRM, crmRow('P-LSN-NEG'), { '"lsn":': '"lsn":-8,"was":' }), 'BAD_POSITION', /source\.lsn -8 is not a non-negative integer/],
    ['a fractional lsn', CRM.topic, () => withText(CRM, crmRow('P-LSN-FRAC'), { '"lsn":': '"lsn":24.5,"was":' }), 'BAD_POSITION', /source\.lsn 24\.5/],
    ['a ts_ms no date can hold', CRM.topic, () => withText(CRM, crmRow('P-TS'), { '"ts_ms":': '"ts_ms":9000000000000000,"was":' }), 'BAD_POSITION', /source\.ts_ms 9000000000000000 is larger/],
    [
      'a binlog pos beyond 2^53',
      BILLING.topic,
      () => JSON.stringify(app.log.envelope(BILLING, 'c', null, { account_id: next++, cust_ref: 'P-POS', state: 0, balance_cents: 0, modified: 1 }, { pos: 2 ** 60 })),
      'BAD_POSITION',
      /source\.pos \d+ is beyond 2\^53/,
    ],
    ['a customer_no that is an object', CRM.topic, () => JSON.stringify(app.log.envelope(CRM, 'c', null, crmRow('x', { customer_no: { a: 1 } }))), 'BAD_KEY', /customer key "customer_no" is an object: expected a string, a number or a boolean/],
    ['a record key that is an object', CRM.topic, () => JSON.stringify(app.log.envelope(CRM, 'c', null, crmRow('P-OBJKEY', { id: { a: 1 } }))), 'BAD_KEY', /record key column "id" is an object/],
    ['a record key past 2^53 (JSON.parse rounds it onto another)', CRM.topic, () => withText(CRM, crmRow('P-BIGID', { id: '<id>' }), { '"<id>"': '9007199254740993' }), 'BAD_KEY', /record key column "id" is 9007199254740992, beyond 2\^53/],
    // What the decoder lets through and PostgreSQL still refuses: isolated by the store's answer.
    ['an email too large for an index (PostgreSQL 54000)', CRM.topic, () => JSON.stringify(app.log.envelope(CRM, 'c', null, crmRow('P-LONGEMAIL', { email: noise(4000) }))), 'REJECTED_BY_STORE', /PostgreSQL 54000: index row size \d+ exceeds/],
    ['a lone surrogate jsonb cannot hold (PostgreSQL 22P02)', CRM.topic, () => withText(CRM, crmRow('P-SURROGATE', { email: '<s>' }), { '"<s>"': '"\\ud800"' }), 'REJECTED_BY_STORE', /PostgreSQL 22P02: invalid input syntax for type json/],
  ];

  it.each(poisons)('dead-letters %s with its reason within seconds, and applies the events after it', async (name, topic, body, code, reason) => {
    const tag = `P-${next++}`;
    await app.event(CRM, 'c', null, crmRow(`${tag}-BEFORE`));
    const sent = body();
    await app.publish(topic, sent);
    await app.event(CRM, 'c', null, crmRow(`${tag}-AFTER`));
    const started = Date.now();
    await waitFor(async () => (await status(`${tag}-AFTER`)) === 'PENDING', `the event after ${name}`, 5000);
    expect(await status(`${tag}-BEFORE`)).toBe('PENDING');
    const dead = await deadLetters(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(dead).toHaveLength(1);
    expect(dead[0].headers['x-error-code']).toBe(code);
    expect(dead[0].headers['x-error-reason']).toMatch(reason);
    expect(dead[0].headers['x-original-routing-key']).toBe(topic);
    expect(dead[0].body).toBe(sent);
  });

  it('keeps the next real events of a record after one with an oversized lsn (it is refused, not stored as the newest)', async () => {
    const id = next++;
    const row = (status: string): Row => ({ id, customer_no: 'P-ORDER', email: null, status, updated_at: 1 });
    await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, row('ACTIVE')));
    await app.publish(CRM.topic, JSON.stringify(app.log.envelope(CRM, 'u', null, row('DORMANT'))).replace('"lsn":', '"lsn":"123456789012345678901","was":'));
    await app.publish(CRM.topic, app.log.envelope(CRM, 'u', null, row('CLOSED')));
    await waitFor(async () => (await status('P-ORDER')) === 'CLOSED', 'the real update after the oversized one', 5000);
    const dead = await deadLetters(1);
    expect(dead.map((d) => d.headers['x-error-code'])).toEqual(['BAD_POSITION']);
  });

  it('dead-letters a truncate with an lsn of 1e21 and deletes nothing; the records after it are stored live', async () => {
    const user = (userId: string, customerNo: string): Row => ({ user_id: userId, customer_no: customerNo, registered_at: '2024-01-01T00:00:00Z', first_login_at: null, locked: false });
    // Keys compare as text: '1e+21' padded sorts below the key of lsn 4711 of a young database (before the fix, the truncate deleted it).
    await app.publish(PORTAL.topic, app.log.envelope(PORTAL, 'c', null, user('u-small', 'P-TRUNC-SMALL'), { lsn: 4711 }));
    await app.event(PORTAL, 'c', null, user('u-before', 'P-TRUNC-BEFORE'));
    await waitFor(async () => (await status('P-TRUNC-BEFORE')) === 'PENDING', 'the portal user before the truncate');
    expect(await status('P-TRUNC-SMALL')).toBe('PENDING');
    await app.publish(PORTAL.topic, JSON.stringify(app.log.envelope(PORTAL, 't', null, null)).replace('"lsn":', '"lsn":1e21,"was":'));
    await app.event(PORTAL, 'c', null, user('u-after', 'P-TRUNC-AFTER'));
    await waitFor(async () => (await status('P-TRUNC-AFTER')) === 'PENDING', 'the portal user after the truncate', 5000);
    expect(await status('P-TRUNC-BEFORE')).toBe('PENDING');
    expect(await status('P-TRUNC-SMALL')).toBe('PENDING');
    const dead = await deadLetters(1);
    expect(dead.map((d) => [d.headers['x-error-code'], d.headers['x-error-reason']])).toEqual([['BAD_POSITION', 'bad position: source.lsn 1e+21 is beyond 2^53, where a JSON number is no longer exact (send it as a string)']]);
    const [{ n }] = (await app.db.query(`SELECT count(*)::int AS n FROM source_truncate WHERE system = 'portal'`)) as Array<{ n: number }>;
    expect(n).toBe(0);
  });

  it('does not let two records whose keys are objects collide on "[object Object]"', async () => {
    await app.event(CRM, 'c', null, crmRow('P-OBJ-1', { id: { a: 1 } }));
    await app.event(CRM, 'c', null, crmRow('P-OBJ-2', { id: { a: 2 } }));
    await app.event(CRM, 'c', null, crmRow('P-OBJ-3', { customer_no: { a: 1 } }));
    await app.event(CRM, 'c', null, crmRow('P-OBJ-AFTER'));
    await waitFor(async () => (await status('P-OBJ-AFTER')) === 'PENDING', 'the event after the object keys', 5000);
    const dead = await deadLetters(3);
    expect(dead.map((d) => d.headers['x-error-code'])).toEqual(['BAD_KEY', 'BAD_KEY', 'BAD_KEY']);
    expect(await status('P-OBJ-1')).toBeUndefined();
    expect(await status('[object Object]')).toBeUndefined();
    const rows = (await app.db.query(`SELECT record_key, customer_id FROM source_record WHERE record_key LIKE '%object%' OR customer_id LIKE '%OBJECT%'`)) as unknown[];
    expect(rows).toEqual([]);
  });

  it('isolates one refused event among 400 that arrive together, and applies the 399 others', async () => {
    // Published without waiting for each confirm in turn, so that they arrive together and fill batches.
    const first = next;
    const bodies = Array.from({ length: 400 }, (_, i) =>
      JSON.stringify(app.log.envelope(CRM, 'c', null, crmRow(`P-BULK-${first + i}`, i === 250 ? { email: noise(4000) } : {}))),
    );
    await Promise.all(bodies.map((b) => app.publish(CRM.topic, b)));
    await waitFor(async () => (await status(`P-BULK-${first + 399}`)) === 'PENDING', 'the last of the batch', 10_000);
    const dead = await deadLetters(1);
    expect(dead).toHaveLength(1);
    expect(dead[0].body).toBe(bodies[250]);
    const [{ n }] = (await app.db.query(`SELECT count(*)::int AS n FROM customer WHERE id LIKE 'P-BULK-%' AND live`)) as Array<{ n: number }>;
    expect(n).toBe(399);
  });

  it('stores a record whose raw status of 4,000 characters no rule maps, and reports the value cut to 200 characters', async () => {
    const long = noise(4000);
    await app.event(CRM, 'c', null, crmRow('P-LONGSTATUS', { status: long }));
    await waitFor(async () => (await status('P-LONGSTATUS')) === 'UNKNOWN', 'the record stored');
    const res = await gql<{ unmappedValues: Array<{ system: string; field: string; value: string; count: number }> }>(
      app.url,
      '{ unmappedValues { system field value count } }',
    );
    const mine = res.data!.unmappedValues.filter((u) => u.value.startsWith(long.slice(0, 20)));
    expect(mine).toEqual([{ system: 'crm', field: 'status', value: `${long.slice(0, 199)}…`, count: 1 }]);
    expect(await app.drainDeadLetters()).toEqual([]);
  });
});

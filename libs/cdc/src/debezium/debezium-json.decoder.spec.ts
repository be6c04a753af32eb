import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSources, readDocument, SourcesConfig } from '@app/config';
import { ChangeEvent, ChangeEventFactory, customerKeyNormalizer, DecodeError, DecodeErrorCode } from '@app/change-events';
import { DebeziumJsonDecoder, DecodedMessage, RawMessage } from './debezium-json.decoder';

type Json = Record<string, unknown>;

const FIXTURES = join(__dirname, '../../fixtures');
const SOURCES_FILE = join(__dirname, '../../../../config/sources.yaml');

const CRM = 'legacy.crm.customers';
const BILLING = 'legacy.billing.accounts';
const PORTAL = 'legacy.portal.users';

const sources: SourcesConfig = parseSources(readDocument(SOURCES_FILE), SOURCES_FILE);
const decoder = new DebeziumJsonDecoder(sources);

/** A fixture as the broker hands it over: bytes, like a Kafka record value. */
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const fixtureJson = (name: string): Json => JSON.parse(fixture(name).toString('utf8')) as Json;

/** A fixture with one edit applied, serialized again. */
function variant(name: string, edit: (doc: Json) => void): string {
  const doc = fixtureJson(name);
  edit(doc);
  return JSON.stringify(doc);
}
const setIn = (block: string, patch: Json) => (doc: Json) => {
  doc[block] = { ...(doc[block] as Json), ...patch };
};
const removeFrom = (block: string, key: string) => (doc: Json) => {
  const copy: Json = { ...(doc[block] as Json) };
  delete copy[key];
  doc[block] = copy;
};
const set = (patch: Json) => (doc: Json) => {
  Object.assign(doc, patch);
};

function decodeChange(message: RawMessage): ChangeEvent {
  const decoded: DecodedMessage = decoder.decode(message);
  if (decoded.kind !== 'change') throw new Error(`expected a change event, got ${JSON.stringify(decoded)}`);
  return decoded;
}

function decodeError(message: RawMessage): DecodeError {
  try {
    decoder.decode(message);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('expected a DecodeError, but the message decoded');
}

const crmUpdate: ChangeEvent = {
  kind: 'change',
  system: 'crm',
  op: 'u',
  recordKey: '7',
  deleted: false,
  customerId: 'C-000007',
  raw: { id: 7, customer_no: 'C-000007', email: 'a@example.com', status: 'ACTIVE', updated_at: 1700000100000000 },
  row: { id: 7, customer_no: 'C-000007', email: 'a@example.com', status: 'ACTIVE', updated_at: 1700000100000 },
  position: { kind: 'lsn', key: '00000000000024023928', text: 'lsn:24023928', tsMs: 1700000100123 },
};

const billingUpdate: ChangeEvent = {
  kind: 'change',
  system: 'billing',
  op: 'u',
  recordKey: '4711',
  deleted: false,
  customerId: 'C-000123',
  // raw keeps the value as it arrived; only customerId is normalized.
  raw: { account_id: 4711, cust_ref: ' c-000123 ', state: 1, balance_cents: -4200, modified: 1700000200123 },
  row: { account_id: 4711, cust_ref: ' c-000123 ', state: 1, balance_cents: -4200, modified: 1700000200123 },
  position: {
    kind: 'binlog',
    key: '000000000003:00000000000000015482:00000000',
    text: 'mysql-bin.000003:15482:0',
    // MySQL binlog timestamps have second precision.
    tsMs: 1700000200000,
  },
};

const crmDeletePkOnlyPosition = { kind: 'lsn', key: '00000000000024031200', text: 'lsn:24031200', tsMs: 1700000500321 } as const;

describe('DebeziumJsonDecoder', () => {
  describe('change events', () => {
    it.each<[string, string, string, ChangeEvent]>([
      ['a plain crm update', CRM, 'crm-update.plain.json', crmUpdate],
      ['a crm update in the {schema, payload} wrapper', CRM, 'crm-update.wrapped.json', crmUpdate],
      ['a crm update flattened by ExtractNewRecordState', CRM, 'crm-update.flattened.json', crmUpdate],
      ['a plain billing update from MySQL', BILLING, 'billing-update.json', billingUpdate],
      ['a billing update flattened by ExtractNewRecordState', BILLING, 'billing-update.flattened.json', billingUpdate],
      [
        'a portal create with a uuid key and ISO timestamps',
        PORTAL,
        'portal-create.json',
        {
          kind: 'change',
          system: 'portal',
          op: 'c',
          recordKey: '3f2a9c1e-8b4d-4e2a-9f61-2c7d5b0a1e93',
          deleted: false,
          customerId: 'C-000042',
          raw: {
            user_id: '3f2a9c1e-8b4d-4e2a-9f61-2c7d5b0a1e93',
            customer_no: 'C-000042',
            registered_at: '2023-11-14T22:15:00.123456Z',
            first_login_at: null,
            locked: false,
          },
          row: {
            user_id: '3f2a9c1e-8b4d-4e2a-9f61-2c7d5b0a1e93',
            customer_no: 'C-000042',
            registered_at: 1700000100123,
            first_login_at: null,
            locked: false,
          },
          position: { kind: 'lsn', key: '00000000000033816624', text: 'lsn:33816624', tsMs: 1700000100250 },
        },
      ],
      [
        'a snapshot read (op r)',
        CRM,
        'snapshot-read.json',
        {
          kind: 'change',
          system: 'crm',
          op: 'r',
          recordKey: '12',
          deleted: false,
          customerId: 'C-000012',
          raw: { id: 12, customer_no: 'C-000012', email: 'dormant@example.com', status: 'DORMANT', updated_at: 1690000000000000 },
          row: { id: 12, customer_no: 'C-000012', email: 'dormant@example.com', status: 'DORMANT', updated_at: 1690000000000 },
          position: { kind: 'lsn', key: '00000000000023990112', text: 'lsn:23990112', tsMs: 1699999990000 },
        },
      ],
      [
        'a delete whose before holds only the primary key (replica identity default)',
        CRM,
        'crm-delete-pk-only.json',
        {
          kind: 'change',
          system: 'crm',
          op: 'd',
          recordKey: '7',
          deleted: true,
          customerId: null,
          raw: { id: 7 },
          row: { id: 7 },
          position: crmDeletePkOnlyPosition,
        },
      ],
      [
        'a flattened delete (rewrite mode) with only the primary key set',
        CRM,
        'crm-delete-pk-only.flattened.json',
        {
          kind: 'change',
          system: 'crm',
          op: 'd',
          recordKey: '7',
          deleted: true,
          customerId: null,
          raw: { id: 7, customer_no: null, email: null, status: null, updated_at: null },
          row: { id: 7, customer_no: null, email: null, status: null, updated_at: null },
          position: crmDeletePkOnlyPosition,
        },
      ],
      [
        'a delete with the full before image (replica identity full)',
        CRM,
        'crm-delete-full.json',
        {
          kind: 'change',
          system: 'crm',
          op: 'd',
          recordKey: '7',
          deleted: true,
          customerId: 'C-000007',
          raw: { id: 7, customer_no: 'C-000007', email: 'a@example.com', status: 'ACTIVE', updated_at: 1700000100000000 },
          row: { id: 7, customer_no: 'C-000007', email: 'a@example.com', status: 'ACTIVE', updated_at: 1700000100000 },
          position: crmDeletePkOnlyPosition,
        },
      ],
    ])('decodes %s', (_name, topic, file, expected) => {
      expect(decoder.decode({ topic, value: fixture(file) })).toEqual(expected);
    });

    it.each(['crm-update.plain.json', 'crm-update.wrapped.json', 'crm-update.flattened.json'])(
      'decodes %s the same from a string as from bytes',
      (file) => {
        const fromString = decoder.decode({ topic: CRM, value: fixture(file).toString('utf8') });
        expect(fromString).toEqual(decoder.decode({ topic: CRM, value: fixture(file) }));
      },
    );

    it('gives the same event for the three forms of one change', () => {
      const [plain, wrapped, flattened] = ['crm-update.plain.json', 'crm-update.wrapped.json', 'crm-update.flattened.json'].map((f) =>
        decodeChange({ topic: CRM, value: fixture(f) }),
      );
      expect(wrapped).toEqual(plain);
      expect(flattened).toEqual(plain);
    });

    it('treats a flattened row without __op as a read, and __deleted alone as a delete', () => {
      const bare = variant('crm-update.flattened.json', (doc) => {
        delete doc.__op;
      });
      expect(decodeChange({ topic: CRM, value: bare })).toMatchObject({ op: 'r', deleted: false });

      const deletedOnly = variant('crm-delete-pk-only.flattened.json', (doc) => {
        delete doc.__op;
      });
      expect(decodeChange({ topic: CRM, value: deletedOnly })).toMatchObject({ op: 'd', deleted: true, customerId: null, recordKey: '7' });
    });

    it('reads the position from __lsn as well as __source_lsn', () => {
      const value = variant('crm-update.flattened.json', (doc) => {
        doc.__lsn = doc.__source_lsn;
        delete doc.__source_lsn;
      });
      expect(decodeChange({ topic: CRM, value }).position).toEqual(crmUpdate.position);
    });

    it('falls back to the event ts_ms when the source block has none', () => {
      const value = variant('crm-update.plain.json', (doc) => {
        doc.source = { ...(doc.source as Json), lsn: null, ts_ms: null };
      });
      expect(decodeChange({ topic: CRM, value }).position).toEqual({
        kind: 'ts',
        key: '00000001700000100456',
        text: 'ts_ms:1700000100456',
        tsMs: 1700000100456,
      });
    });

    it('joins a composite record key as a JSON array', () => {
      const composite = new DebeziumJsonDecoder({
        customerKey: { normalize: ['trim', 'upper'] },
        systems: [
          { name: 'ledger', topic: 'legacy.ledger.lines', table: 'lines', recordKey: ['account_id', 'line_no'], customerKey: 'cust_ref', fields: {} },
        ],
      });
      const decoded = composite.decode({
        topic: 'legacy.ledger.lines',
        value: JSON.stringify({ account_id: 4711, line_no: 3, cust_ref: 'c-1', __op: 'c' }),
      });
      expect(decoded).toMatchObject({ kind: 'change', system: 'ledger', recordKey: '[4711,3]', customerId: 'C-1' });
    });
  });

  describe('customer key', () => {
    it.each<[unknown, string]>([
      [' c-000123 ', 'C-000123'],
      ['c-000123', 'C-000123'],
      ['C-000123', 'C-000123'],
      ['\tc-000123\n', 'C-000123'],
      [123, '123'],
    ])('normalizes cust_ref %j to %j', (custRef, customerId) => {
      const value = variant('billing-update.json', setIn('after', { cust_ref: custRef }));
      const event = decodeChange({ topic: BILLING, value });
      expect(event.customerId).toBe(customerId);
      expect(event.raw.cust_ref).toBe(custRef);
    });

    it.each<[unknown, Array<'trim' | 'upper' | 'lower'>, string | null]>([
      [' c-000123 ', ['trim', 'upper'], 'C-000123'],
      [' C-000123 ', ['trim', 'lower'], 'c-000123'],
      [' c-000123 ', ['upper'], ' C-000123 '],
      [' c-000123 ', [], ' c-000123 '],
      ['   ', ['trim', 'upper'], null],
      ['', [], null],
      [null, ['trim', 'upper'], null],
      [undefined, ['trim', 'upper'], null],
    ])('customerKeyNormalizer(%j) with %j gives %j', (raw, steps, expected) => {
      expect(customerKeyNormalizer(steps)(raw)).toBe(expected);
    });
  });

  describe('field normalization', () => {
    it.each<[string, string, string, string, unknown, unknown]>([
      ['timestamp-micros → epoch ms', CRM, 'crm-update.plain.json', 'updated_at', 1700000100000000, 1700000100000],
      ['timestamp-micros rounds down to the ms', CRM, 'crm-update.plain.json', 'updated_at', 1700000100123999, 1700000100123],
      ['timestamp-micros given as ISO', CRM, 'crm-update.plain.json', 'updated_at', '2023-11-14T22:15:00.123Z', 1700000100123],
      ['timestamp-millis stays epoch ms', BILLING, 'billing-update.json', 'modified', 1700000200123, 1700000200123],
      ['ISO with microseconds → ms', PORTAL, 'portal-create.json', 'registered_at', '2023-11-14T22:15:00.123456Z', 1700000100123],
      ['ISO with an offset → ms', PORTAL, 'portal-create.json', 'first_login_at', '2023-11-14T23:15:00+01:00', 1700000100000],
      ['an unparseable timestamp is kept', PORTAL, 'portal-create.json', 'first_login_at', 'yesterday', 'yesterday'],
      ['a null timestamp stays null', PORTAL, 'portal-create.json', 'first_login_at', null, null],
      ['an integer sent as a string', BILLING, 'billing-update.json', 'state', '2', 2],
      ['a boolean sent as 1', PORTAL, 'portal-create.json', 'locked', 1, true],
      ['a boolean sent as "false"', PORTAL, 'portal-create.json', 'locked', 'false', false],
      ['a string sent as a number', CRM, 'crm-update.plain.json', 'email', 42, '42'],
    ])('%s (%s %s)', (_name, topic, file, field, sent, expected) => {
      const event = decodeChange({ topic, value: variant(file, setIn('after', { [field]: sent })) });
      expect(event.row[field]).toEqual(expected);
      expect(event.raw[field]).toEqual(sent);
    });

    it('keeps a column the configuration does not know, unchanged', () => {
      const event = decodeChange({ topic: CRM, value: variant('crm-update.plain.json', setIn('after', { nickname: 'Al' })) });
      expect(event.row.nickname).toBe('Al');
    });
  });

  describe("Debezium's unavailable-value placeholder", () => {
    const PLACEHOLDER = '__debezium_unavailable_value';

    it.each<[string, unknown]>([
      ['as text', PLACEHOLDER],
      ['as base64 (a binary column)', Buffer.from(PLACEHOLDER).toString('base64')],
      ['as hex (binary.handling.mode=hex)', Buffer.from(PLACEHOLDER).toString('hex')],
      ['as the only element of an array', [PLACEHOLDER]],
    ])('leaves out a column sent with it %s and names it unchanged', (_name, sent) => {
      const event = decodeChange({ topic: CRM, value: variant('crm-update.plain.json', setIn('after', { email: sent })) });
      expect(event.unchanged).toEqual(['email']);
      expect('email' in event.raw).toBe(false);
      expect('email' in event.row).toBe(false);
      expect(event.row.status).toBeDefined();
    });

    it('does the same in the flattened form, and keeps a whole row whole', () => {
      const flat = { ...(fixtureJson('crm-update.plain.json').after as Json), status: PLACEHOLDER, __op: 'u', __lsn: 24000100, __source_ts_ms: 1700000000000 };
      expect(decodeChange({ topic: CRM, value: JSON.stringify(flat) }).unchanged).toEqual(['status']);
      expect(decodeChange({ topic: CRM, value: fixture('crm-update.plain.json') }).unchanged).toBeUndefined();
    });

    it('keeps a delete as sent (its stored fields stand anyway) and a value that only contains the placeholder', () => {
      const deleted = decodeChange({ topic: CRM, value: variant('crm-delete-full.json', setIn('before', { email: PLACEHOLDER })) });
      expect(deleted.unchanged).toBeUndefined();
      const event = decodeChange({ topic: CRM, value: variant('crm-update.plain.json', setIn('after', { email: `${PLACEHOLDER}@example.com`, status: [PLACEHOLDER, 'x'] })) });
      expect(event.unchanged).toBeUndefined();
    });

    it("uses the system's configured placeholder (Debezium's unavailable.value.placeholder)", () => {
      const custom = new DebeziumJsonDecoder({ ...sources, systems: sources.systems.map((s) => (s.name === 'crm' ? { ...s, unavailableValue: '<toasted>' } : s)) });
      const decoded = custom.decode({ topic: CRM, value: variant('crm-update.plain.json', setIn('after', { email: '<toasted>', status: PLACEHOLDER })) });
      expect(decoded).toMatchObject({ kind: 'change', unchanged: ['email'] });
      expect((decoded as ChangeEvent).raw.status).toBe(PLACEHOLDER);
    });

    it('refuses a configured placeholder that is empty or longer than 256 characters', () => {
      const doc = readDocument(SOURCES_FILE) as { systems: Record<string, Json> };
      for (const bad of ['', 'x'.repeat(257)]) {
        const edited = { ...doc, systems: { ...doc.systems, crm: { ...doc.systems.crm, unavailableValue: bad } } };
        expect(() => parseSources(edited, 'sources.yaml')).toThrow(/systems\.crm\.unavailableValue/);
      }
    });
  });

  describe('skipped messages', () => {
    it.each<[string, Buffer | string | null]>([
      ['a null value (Kafka tombstone)', null],
      ['an empty buffer', Buffer.alloc(0)],
      ['an empty string', ''],
      ['the string "default" (Debezium Server RabbitMQ/Redis sinks)', 'default'],
      ['"default" as bytes', Buffer.from('default', 'utf8')],
      ['JSON null', 'null'],
      ['a wrapped payload of null', '{"schema":null,"payload":null}'],
      [
        'a wrapped payload of null with a schema',
        JSON.stringify({ schema: { type: 'struct', fields: [], optional: true, name: 'legacy.crm.customers.Envelope' }, payload: null }),
      ],
    ])('skips %s as a tombstone', (_name, value) => {
      expect(decoder.decode({ topic: CRM, value })).toEqual({ kind: 'skip', reason: 'tombstone' });
    });

    it('skips a tombstone even on a topic no source is configured for', () => {
      expect(decoder.decode({ topic: 'legacy.crm.contacts', value: null })).toEqual({ kind: 'skip', reason: 'tombstone' });
    });

    // None of these topics is configured: the skip must win over UNKNOWN_TOPIC.
    it.each<[string, string, Buffer | string, string]>([
      ['a heartbeat', '__debezium-heartbeat.legacy', fixture('heartbeat.json'), 'heartbeat'],
      ['a wrapped heartbeat', '__debezium-heartbeat.legacy', fixture('heartbeat.wrapped.json'), 'heartbeat'],
      ['a heartbeat routed to another topic', 'legacy.heartbeats', fixture('heartbeat.json'), 'heartbeat'],
      ['a MySQL schema change', 'legacy', fixture('schema-change.json'), 'schema-change'],
      ['a schema change without tableChanges', 'legacy', variant('schema-change.json', (d) => delete d.tableChanges), 'schema-change'],
      ['a schema change without ddl', 'legacy', variant('schema-change.json', (d) => delete d.ddl), 'schema-change'],
      ['a transaction BEGIN', 'legacy.transaction', fixture('transaction-begin.json'), 'transaction'],
      ['a transaction END', 'legacy.transaction', fixture('transaction-end.json'), 'transaction'],
    ])('skips %s on %s', (_name, topic, value, reason) => {
      expect(decoder.decode({ topic, value })).toEqual({ kind: 'skip', reason });
    });

    // crm maps any status outside its vocabulary to UNKNOWN and reports it, so "END" is a legal row.
    it('decodes a plain crm row whose status is "END" as a change', () => {
      const value = variant('crm-update.plain.json', setIn('after', { status: 'END' }));
      expect(decodeChange({ topic: CRM, value }).row.status).toBe('END');
    });

    // Known bug: skipReason() takes any body with `id`, status BEGIN/END and no `op` key for transaction
    // metadata; a flattened row has `__op`, not `op`, so the change is silently skipped.
    it('decodes a flattened crm row whose status is "END" as a change, not transaction metadata', () => {
      const value = variant('crm-update.flattened.json', set({ status: 'END' }));
      expect(decoder.decode({ topic: CRM, value })).toEqual({
        ...crmUpdate,
        raw: { ...crmUpdate.raw, status: 'END' },
        row: { ...crmUpdate.row, status: 'END' },
      });
    });
  });

  describe('truncate', () => {
    it('decodes op t as a truncate of the whole system', () => {
      expect(decoder.decode({ topic: PORTAL, value: fixture('portal-truncate.json') })).toEqual({
        kind: 'truncate',
        system: 'portal',
        position: { kind: 'lsn', key: '00000000000033829112', text: 'lsn:33829112', tsMs: 1700000900000 },
      });
    });

    it('decodes a flattened __op t as a truncate', () => {
      const value = JSON.stringify({ __op: 't', __source_lsn: 33829112, __source_ts_ms: 1700000900000, __deleted: 'false' });
      expect(decoder.decode({ topic: PORTAL, value })).toEqual({
        kind: 'truncate',
        system: 'portal',
        position: { kind: 'lsn', key: '00000000000033829112', text: 'lsn:33829112', tsMs: 1700000900000 },
      });
    });
  });

  describe('bad input', () => {
    it.each<[string, string, Buffer | string, DecodeErrorCode, RegExp]>([
      ['truncated JSON', CRM, '{"before":{"id":7},"after":', 'NOT_JSON', /not JSON/],
      ['plain text', CRM, 'hello', 'NOT_JSON', /not JSON/],
      ['binary garbage', CRM, Buffer.from([0x00, 0xff, 0x13, 0x37]), 'NOT_JSON', /not JSON/],
      ['a JSON array', CRM, '[{"op":"u"}]', 'NOT_DEBEZIUM', /expected a JSON object/],
      ['a JSON number', CRM, '42', 'NOT_DEBEZIUM', /expected a JSON object/],
      ['a JSON string', CRM, '"u"', 'NOT_DEBEZIUM', /expected a JSON object/],
      ['a wrapped payload that is not an object', CRM, '{"schema":null,"payload":[1]}', 'NOT_DEBEZIUM', /"payload"/],
      ['a change on an unknown topic', 'legacy.crm.contacts', fixture('crm-update.plain.json'), 'UNKNOWN_TOPIC', /"legacy\.crm\.contacts"/],
      ['a flattened row on an unknown topic', 'legacy.crm.contacts', fixture('crm-update.flattened.json'), 'UNKNOWN_TOPIC', /legacy\.crm\.contacts/],
      ['an update without after', CRM, variant('crm-update.plain.json', set({ after: null })), 'NO_USABLE_ROW', /op "u" without "after"/],
      ['a create without after', PORTAL, variant('portal-create.json', set({ after: null })), 'NO_USABLE_ROW', /op "c" without "after"/],
      ['a delete without before', CRM, variant('crm-delete-pk-only.json', set({ before: null })), 'NO_USABLE_ROW', /op "d" without "before"/],
      ['an update without the record key', CRM, variant('crm-update.plain.json', removeFrom('after', 'id')), 'NO_USABLE_ROW', /"id"/],
      ['an update with a null record key', BILLING, variant('billing-update.json', setIn('after', { account_id: null })), 'NO_USABLE_ROW', /"account_id"/],
      ['a flattened row without the record key', CRM, variant('crm-update.flattened.json', (d) => delete d.id), 'NO_USABLE_ROW', /"id"/],
      ['a delete whose before lacks the record key', CRM, variant('crm-delete-pk-only.json', set({ before: {} })), 'NO_USABLE_ROW', /"id"/],
      ['an update without the customer key', CRM, variant('crm-update.plain.json', removeFrom('after', 'customer_no')), 'NO_USABLE_ROW', /"customer_no"/],
      ['an update with a null customer key', CRM, variant('crm-update.plain.json', setIn('after', { customer_no: null })), 'NO_USABLE_ROW', /customer key/],
      ['an update with a blank customer key', BILLING, variant('billing-update.json', setIn('after', { cust_ref: '   ' })), 'NO_USABLE_ROW', /"cust_ref"/],
      ['a snapshot read without the customer key', CRM, variant('snapshot-read.json', setIn('after', { customer_no: '' })), 'NO_USABLE_ROW', /customer key/],
      ['op "x"', CRM, variant('crm-update.plain.json', set({ op: 'x' })), 'UNKNOWN_OP', /unknown op "x"/],
      ['op "x" in the wrapper', CRM, variant('crm-update.wrapped.json', setIn('payload', { op: 'x' })), 'UNKNOWN_OP', /unknown op "x"/],
      ['a flattened __op "x"', CRM, variant('crm-update.flattened.json', set({ __op: 'x' })), 'UNKNOWN_OP', /unknown op "x"/],
    ])('rejects %s', (_name, topic, value, code, message) => {
      const error = decodeError({ topic, value });
      expect(error).toBeInstanceOf(DecodeError);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    });
  });

  /**
   * Poison: messages that would pass as data but that the store, the ordering or the code after the
   * decoder cannot take. Each is refused here with its reason, so it is dead-lettered, not retried.
   */
  describe('poison input', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    /** The plain crm update whose email is `n` nested arrays, written as text (JSON.stringify itself overflows on thousands). */
    const nestedEmail = (n: number) => variant('crm-update.plain.json', setIn('after', { email: '<nested>' })).replace('"<nested>"', deep(n));
    /** The plain crm update with `text` put in place of its source lsn, as the bytes would arrive. */
    const withLsnText = (file: string, text: string) => fixture(file).toString('utf8').replace(/("(?:__source_)?lsn": ?)\d+/, `$1${text}`);
    const ledger = new DebeziumJsonDecoder({
      customerKey: { normalize: ['trim', 'upper'] },
      systems: [{ name: 'ledger', topic: 'legacy.ledger.lines', table: 'lines', recordKey: ['account_id', 'line_no'], customerKey: 'cust_ref', fields: {} }],
    });

    it.each<[string, string, Buffer | string, DecodeErrorCode, RegExp]>([
      // Positions: exact integers the key holds, or refused.
      ['an lsn beyond 2^53 (JSON.parse would round it)', CRM, withLsnText('crm-update.plain.json', '123456789012345678901'), 'BAD_POSITION', /source\.lsn 123456789012345680000 is beyond 2\^53/],
      ['an lsn of 1e21', CRM, withLsnText('crm-update.plain.json', '1e21'), 'BAD_POSITION', /source\.lsn 1e\+21/],
      ['a negative lsn', CRM, withLsnText('crm-update.plain.json', '-24023928'), 'BAD_POSITION', /source\.lsn -24023928 is not a non-negative integer/],
      ['an lsn string past 64 bits', CRM, withLsnText('crm-update.plain.json', '"18446744073709551616"'), 'BAD_POSITION', /is larger than 18446744073709551615/],
      ['a flattened __source_lsn of 1e21', CRM, withLsnText('crm-update.flattened.json', '1e21'), 'BAD_POSITION', /__source\.lsn 1e\+21/],
      ['a truncate with an lsn of 1e21', PORTAL, withLsnText('portal-truncate.json', '1e21'), 'BAD_POSITION', /source\.lsn 1e\+21/],
      ['a truncate with a negative lsn', PORTAL, withLsnText('portal-truncate.json', '-1'), 'BAD_POSITION', /source\.lsn -1/],
      [
        'a flattened truncate with an lsn past 64 bits',
        PORTAL,
        '{"__op":"t","__source_lsn":"99999999999999999999","__source_ts_ms":1700000900000}',
        'BAD_POSITION',
        /__source\.lsn 99999999999999999999 is larger/,
      ],
      ['a binlog pos beyond 2^53', BILLING, variant('billing-update.json', setIn('source', { pos: 2 ** 60 })), 'BAD_POSITION', /source\.pos .* beyond 2\^53/],
      ['a negative binlog row', BILLING, variant('billing-update.json', setIn('source', { row: -1 })), 'BAD_POSITION', /source\.row -1/],
      ['a ts_ms a date cannot hold', CRM, variant('crm-update.plain.json', setIn('source', { ts_ms: 9e15 })), 'BAD_POSITION', /source\.ts_ms 9000000000000000 is larger/],
      ['an event ts_ms that is not a number', CRM, variant('crm-update.plain.json', (d) => { (d.source as Json).ts_ms = null; (d.source as Json).lsn = null; d.ts_ms = 'soon'; }), 'BAD_POSITION', /ts_ms "soon"/],
      // Keys: scalars only.
      ['a customer key that is an object', CRM, variant('crm-update.plain.json', setIn('after', { customer_no: { a: 1 } })), 'BAD_KEY', /customer key "customer_no" is an object: expected a string, a number or a boolean/],
      ['a customer key that is an array', BILLING, variant('billing-update.json', setIn('after', { cust_ref: ['C-1'] })), 'BAD_KEY', /customer key "cust_ref" is an array/],
      ['a record key that is an object', CRM, variant('crm-update.plain.json', setIn('after', { id: { a: 1 } })), 'BAD_KEY', /record key column "id" is an object/],
      ['a record key that is an array', PORTAL, variant('portal-create.json', setIn('after', { user_id: [1, 2] })), 'BAD_KEY', /record key column "user_id" is an array/],
      ['a record key beyond 2^53 (JSON.parse would round it)', CRM, fixture('crm-update.plain.json').toString('utf8').replace(/"id": 7/g, '"id": 9007199254740993'), 'BAD_KEY', /record key column "id" is 9007199254740992, beyond 2\^53/],
      ['a flattened row whose customer key is an object', CRM, variant('crm-update.flattened.json', set({ customer_no: { a: 1 } })), 'BAD_KEY', /customer key "customer_no" is an object/],
      ['a delete whose before has an object key', CRM, variant('crm-delete-pk-only.json', set({ before: { id: {} } })), 'BAD_KEY', /record key column "id" is an object/],
      ['a composite key with an object part', 'legacy.ledger.lines', '{"account_id":4711,"line_no":{"n":3},"cust_ref":"c-1","__op":"c"}', 'BAD_KEY', /record key column "line_no" is an object/],
      // Lengths: under the btree limit.
      ['a customer key of 3,000 characters', CRM, variant('crm-update.plain.json', setIn('after', { customer_no: 'C'.repeat(3000) })), 'KEY_TOO_LONG', /customer key "customer_no" is 3000 characters, longer than CDC_MAX_KEY_LENGTH \(512\)/],
      ['a customer key that upper-casing makes too long', CRM, variant('crm-update.plain.json', setIn('after', { customer_no: 'ß'.repeat(300) })), 'KEY_TOO_LONG', /is 600 characters/],
      ['a record key of 10,000 characters', PORTAL, variant('portal-create.json', setIn('after', { user_id: 'k'.repeat(10_000) })), 'KEY_TOO_LONG', /record key column "user_id" is 10000 characters, longer than CDC_MAX_KEY_LENGTH \(512\)/],
      ['a composite record key too long', 'legacy.ledger.lines', JSON.stringify({ account_id: 'a'.repeat(300), line_no: 'b'.repeat(300), cust_ref: 'c-1', __op: 'c' }), 'KEY_TOO_LONG', /^record key is 607 characters/],
      ['a delete whose before holds a key too long', CRM, variant('crm-delete-pk-only.json', set({ before: { id: '7'.repeat(600) } })), 'KEY_TOO_LONG', /record key column "id" is 600 characters/],
      // Nesting and size: bounded before JSON.parse.
      ['a field nested 5,000 deep', CRM, nestedEmail(5000), 'TOO_DEEP', /^nested deeper than CDC_MAX_DEPTH \(64\)$/],
      ['a message 65 levels deep (envelope, after, 63 arrays)', CRM, nestedEmail(63), 'TOO_DEEP', /CDC_MAX_DEPTH \(64\)/],
      ['bare nesting of 500,000 levels', CRM, deep(500_000), 'TOO_DEEP', /CDC_MAX_DEPTH/],
      ['a message over 1 MiB', CRM, variant('crm-update.plain.json', setIn('after', { email: 'x'.repeat(1_048_576) })), 'TOO_LARGE', /message of 10\d{5} bytes is larger than CDC_MAX_MESSAGE_BYTES \(1048576\)/],
      ['a string message over 1 MiB in UTF-8 (not in characters)', CRM, variant('crm-update.plain.json', setIn('after', { email: '€'.repeat(400_000) })), 'TOO_LARGE', /message of 12\d{5} bytes/],
    ])('rejects %s', (_name, topic, value, code, message) => {
      const error = topic === 'legacy.ledger.lines' ? decodeErrorWith(ledger, { topic, value }) : decodeError({ topic, value: typeof value === 'string' ? Buffer.from(value) : value });
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
      if (typeof value === 'string' && topic !== 'legacy.ledger.lines') expect(decodeError({ topic, value }).message).toBe(error.message);
    });

    it.each<[string, string, string, Partial<ChangeEvent>]>([
      ['an lsn string past 2^53, exactly', CRM, withLsnText('crm-update.plain.json', '"9007199254740993"'), { position: { kind: 'lsn', key: '00009007199254740993', text: 'lsn:9007199254740993', tsMs: 1700000100123 } }],
      ['the largest lsn', CRM, withLsnText('crm-update.plain.json', '"18446744073709551615"'), { position: { kind: 'lsn', key: '18446744073709551615', text: 'lsn:18446744073709551615', tsMs: 1700000100123 } }],
      ['a customer key of 512 characters', CRM, variant('crm-update.plain.json', setIn('after', { customer_no: 'c'.repeat(512) })), { customerId: 'C'.repeat(512) }],
      ['a record key of 512 characters', PORTAL, variant('portal-create.json', setIn('after', { user_id: 'k'.repeat(512) })), { recordKey: 'k'.repeat(512) }],
      ['a record key at 2^53 - 1', CRM, variant('crm-update.plain.json', setIn('after', { id: Number.MAX_SAFE_INTEGER })), { recordKey: '9007199254740991' }],
      ['a record key that is a digit string past 2^53, exactly', CRM, variant('crm-update.plain.json', setIn('after', { id: '9007199254740993' })), { recordKey: '9007199254740993' }],
      ['a boolean customer key', CRM, variant('crm-update.plain.json', setIn('after', { customer_no: true })), { customerId: 'TRUE' }],
      ['a message 64 levels deep, the limit', CRM, nestedEmail(62), { recordKey: '7' }],
    ])('accepts %s', (_name, topic, value, expected) => {
      expect(decodeChange({ topic, value })).toMatchObject(expected);
    });

    it('takes its limits from the configuration', () => {
      const strict = new DebeziumJsonDecoder(sources, { maxMessageBytes: 2048, maxDepth: 8, maxKeyLength: 8 });
      const codeOf = (value: string) => decodeErrorWith(strict, { topic: CRM, value }).code;
      expect(codeOf(variant('crm-update.plain.json', setIn('after', { customer_no: 'C-0000001' })))).toBe('KEY_TOO_LONG');
      expect(codeOf(nestedEmail(8))).toBe('TOO_DEEP');
      expect(codeOf(variant('crm-update.plain.json', setIn('after', { email: 'x'.repeat(2048) })))).toBe('TOO_LARGE');
      expect(strict.decode({ topic: CRM, value: variant('crm-update.plain.json', setIn('after', { customer_no: 'C-000001' })) })).toMatchObject({ customerId: 'C-000001' });
    });

    it('refuses a backfilled row by the same rules (the change-event factory every source uses)', () => {
      const crm = sources.systems.find((s) => s.name === 'crm')!;
      const position = { kind: 'lsn', key: '00000000000000000001', text: 'lsn:1', tsMs: null } as const;
      const rows = new ChangeEventFactory(sources);
      expect(() => rows.changeOfRow(crm, 'r', { id: 1, customer_no: { a: 1 }, status: 'ACTIVE' }, position)).toThrow(/customer key "customer_no" is an object/);
      expect(() => rows.changeOfRow(crm, 'r', { id: 'x'.repeat(513), customer_no: 'C-1', status: 'ACTIVE' }, position)).toThrow(/is 513 characters/);
    });
  });
});

function decodeErrorWith(d: DebeziumJsonDecoder, message: RawMessage): DecodeError {
  try {
    d.decode(message);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('expected a DecodeError, but the message decoded');
}

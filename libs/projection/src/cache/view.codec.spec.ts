import { SourcesConfig } from '@app/config';
import { CustomerView, SourceStatusView } from '../customer-view.model';
import { isoOf, jsonbText, ViewCodec } from './view.codec';

const SOURCES: SourcesConfig = {
  customerKey: { normalize: ['trim', 'upper'] },
  systems: [
    {
      name: 'crm',
      topic: 't.crm',
      table: 'crm.customers',
      recordKey: ['id'],
      customerKey: 'customer_no',
      fields: { id: 'integer', customer_no: 'string', email: 'string', status: 'string', updated_at: 'timestamp-micros' },
    },
    { name: 'portal', topic: 't.portal', table: 'portal.users', recordKey: ['user_id'], customerKey: 'customer_no', fields: { user_id: 'string', customer_no: 'string', registered_at: 'timestamp', locked: 'boolean' } },
  ],
};

const crm = (raw: string, more: Partial<SourceStatusView> = {}): SourceStatusView => ({
  system: 'crm',
  recordKey: '7',
  status: 'ACTIVE',
  rule: 'crm-active',
  raw,
  sourceTimestamp: '2024-01-01T00:00:01.000Z',
  position: 'lsn:7',
  ...more,
});
const CRM_RAW = '{"id": 7, "email": "c7@example.com", "status": "ACTIVE", "updated_at": 1672531201000000, "customer_no": "C-0000007"}';
const PORTAL_RAW = '{"locked": false, "user_id": "u-7", "customer_no": "C-0000007", "registered_at": "2023-06-01T00:00:03Z"}';

const view = (sources: SourceStatusView[], more: Partial<CustomerView> = {}): CustomerView => ({
  id: 'C-0000007',
  status: 'ACTIVE',
  reason: 'active',
  statusSince: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
  version: 12,
  ruleSetVersion: 3,
  sources,
  ...more,
});

const codec = new ViewCodec(SOURCES);
/** What a read of the entry answers, as the verify command and GraphQL see it (field order included). */
const roundTrip = (v: CustomerView) => JSON.stringify(codec.decode(v.id, v.version, codec.encode(v)));

describe('ViewCodec', () => {
  it('gives back exactly the view it encoded, and leaves out names, the id and the version', () => {
    const v = view([crm(CRM_RAW), { system: 'portal', recordKey: 'u-7', status: 'PENDING', rule: 'registered', raw: PORTAL_RAW, sourceTimestamp: null, position: 'lsn:9' }]);
    const body = codec.encode(v);
    expect(roundTrip(v)).toBe(JSON.stringify(v));
    expect(body).not.toMatch(/C-0000007|"email"|"crm"|\\"|"version"/);
    expect(body.length).toBeLessThan(JSON.stringify(v).length / 3);
  });

  it('keeps a reason, dates and a source timestamp that are not the usual ones', () => {
    const v = view([crm(CRM_RAW, { sourceTimestamp: '2023-12-31T23:59:59.999Z', status: 'PENDING', rule: 'other-rule', recordKey: 'k' })], {
      reason: 'no-billing-yet',
      statusSince: '1969-07-20T20:17:40.123Z',
      updatedAt: '2025-02-03T04:05:06.789Z',
    });
    expect(roundTrip(v)).toBe(JSON.stringify(v));
  });

  it('keeps dates it cannot write as numbers as text', () => {
    const v = view([crm(CRM_RAW, { sourceTimestamp: '2024-01-01' })], { statusSince: 'not a date', updatedAt: '+275760-09-13T00:00:00.000Z' });
    expect(roundTrip(v)).toBe(JSON.stringify(v));
  });

  // Each of these does not survive JSON.parse and a jsonb-style rewrite: the source is kept as it is.
  it.each([
    ['an integer beyond 2^53', '{"id": 12345678901234567890, "email": "x", "status": "A", "updated_at": 1, "customer_no": "C-0000007"}'],
    ['a number spelled 1.0', '{"id": 1.0, "email": "x", "status": "A", "updated_at": 1, "customer_no": "C-0000007"}'],
    ['a number spelled with an exponent', '{"id": 7, "email": "x", "status": "A", "updated_at": 1e3, "customer_no": "C-0000007"}'],
    ['minus zero', '{"id": -0, "email": "x", "status": "A", "updated_at": 1, "customer_no": "C-0000007"}'],
    ['integer-like keys (JavaScript puts them first)', '{"b": 1, "10": 2}'],
    ['other fields than the configured ones, nested', '{"a": {"b": 1, "1": [1.50, {}]}}'],
    ['a top-level array', '[1, 2]'],
    ['a top-level string', '"text"'],
    ['not jsonb text at all', '{"id":7}'],
  ])('keeps the raw text exactly with %s', (_what, raw) => {
    const v = view([crm(raw)]);
    expect(roundTrip(v)).toBe(JSON.stringify(v));
    expect(codec.decode(v.id, v.version, codec.encode(v)).sources[0].raw).toBe(raw);
  });

  it('writes other raw fields as an object (no text inside text) when they decode exactly', () => {
    const raw = '{"a": "x\\"y", "b": [1, 2.5, null, true], "c": {}, "dd": {"e": "é\\n"}}';
    const v = view([crm(raw)]);
    expect(codec.encode(v)).not.toContain('\\"a\\"');
    expect(roundTrip(v)).toBe(JSON.stringify(v));
  });

  it('keeps a value equal to the customer id only in a string field, and a timestamp field only when it is the same text', () => {
    for (const raw of [
      '{"id": 0, "email": "C-0000007", "status": "A", "updated_at": 1, "customer_no": 0}',
      '{"id": 7, "email": "x", "status": "A", "updated_at": 1, "customer_no": "c-0000007"}',
    ]) {
      const v = view([crm(raw)]);
      expect(roundTrip(v)).toBe(JSON.stringify(v));
    }
    for (const registered of ['"2023-06-01T00:00:03.500Z"', '"2023-06-01T00:00:03.000Z"', '"2023-06-01 00:00:03"', '1685577603000', 'null']) {
      const raw = `{"locked": true, "user_id": "u-7", "customer_no": "C-0000007", "registered_at": ${registered}}`;
      const v = view([{ system: 'portal', recordKey: 'u-7', status: 'ACTIVE', rule: 'portal-x', raw, sourceTimestamp: null, position: null }]);
      expect(roundTrip(v)).toBe(JSON.stringify(v));
    }
  });

  it('keeps a source of a system it does not know, and a rule that looks shortened', () => {
    const v = view([crm(CRM_RAW, { system: 'gone', rule: 'gone-x' }), crm(CRM_RAW, { rule: '-odd' })]);
    expect(roundTrip(v)).toBe(JSON.stringify(v));
  });

  it('writes raw values as jsonb::text does', () => {
    expect(jsonbText({ a: 1, b: 'x', c: [1, { d: null }], e: {}, f: [] })).toBe('{"a": 1, "b": "x", "c": [1, {"d": null}], "e": {}, "f": []}');
    expect(jsonbText('tab\there "q" \\ \u0001')).toBe(JSON.stringify('tab\there "q" \\ \u0001'));
  });

  it('formats dates as toISOString does', () => {
    const samples = [0, -1, 1, 951782400000, 951868799999, 4102444800000, -62167219200000, 253402300799999, 1704067200123];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor((i * 7_919_993_311) % 253402300799999) - (i % 2) * 62_000_000_000_000);
    for (const ms of samples) expect(isoOf(ms)).toBe(new Date(ms).toISOString());
  });

  it('changes its format digits with the configured fields, not with their order in the file', () => {
    const reordered: SourcesConfig = { ...SOURCES, systems: [...SOURCES.systems].reverse() };
    expect(new ViewCodec(reordered).shapeDigits).toBe(codec.shapeDigits);
    const more: SourcesConfig = { ...SOURCES, systems: [{ ...SOURCES.systems[0], fields: { ...SOURCES.systems[0].fields, phone: 'string' } }, SOURCES.systems[1]] };
    expect(new ViewCodec(more).shapeDigits).not.toBe(codec.shapeDigits);
    expect(codec.shapeDigits).toMatch(/^\d{10}$/);
  });
});

import { decodePgValue, PG_TYPES } from './pg-value.decoder';

// What Debezium's PostgreSQL connector puts in its JSON for each type (default settings), from PostgreSQL's text output.
describe('decodePgValue', () => {
  it.each<[string, string, number, number, unknown]>([
    ['a boolean true', 't', PG_TYPES.bool, -1, true],
    ['a boolean false', 'f', PG_TYPES.bool, -1, false],
    ['an int4', '42', PG_TYPES.int4, -1, 42],
    ['a negative int2', '-7', PG_TYPES.int2, -1, -7],
    ['an int8 within 2^53', '9007199254740991', PG_TYPES.int8, -1, 9007199254740991],
    ['an int8 beyond 2^53 stays exact, as a string', '9007199254740993', PG_TYPES.int8, -1, '9007199254740993'],
    ['a float8', '1.5', PG_TYPES.float8, -1, 1.5],
    ['a float8 NaN stays a word', 'NaN', PG_TYPES.float8, -1, 'NaN'],
    ['a timestamp as microseconds', '2024-01-02 03:04:05.123456', PG_TYPES.timestamp, -1, 1704164645123456],
    ['a timestamp without a fraction', '2024-01-02 03:04:05', PG_TYPES.timestamp, -1, 1704164645000000],
    ['a timestamp(3) as milliseconds', '2024-01-02 03:04:05.12', PG_TYPES.timestamp, 3, 1704164645120],
    ['a timestamp of infinity stays a word', 'infinity', PG_TYPES.timestamp, -1, 'infinity'],
    ['a timestamptz in UTC as ISO-8601', '2023-11-14 22:15:00.123456+00', PG_TYPES.timestamptz, -1, '2023-11-14T22:15:00.123456Z'],
    ['a timestamptz without a fraction', '2023-11-14 22:15:00+00', PG_TYPES.timestamptz, -1, '2023-11-14T22:15:00Z'],
    ['a timestamptz fraction without trailing zeros', '2023-11-14 22:15:00.5+00', PG_TYPES.timestamptz, -1, '2023-11-14T22:15:00.5Z'],
    ['a date as days since the epoch', '1970-01-11', PG_TYPES.date, -1, 10],
    ['a numeric stays its exact string', '12345678901234567890.12', 1700, -1, '12345678901234567890.12'],
    ['a uuid', '3f2a9c1e-8b4d-4e2a-9f61-2c7d5b0a1e93', 2950, -1, '3f2a9c1e-8b4d-4e2a-9f61-2c7d5b0a1e93'],
    ['a jsonb as its text', '{"a": 1}', 3802, -1, '{"a": 1}'],
  ])('%s', (_name, text, oid, typmod, expected) => {
    expect(decodePgValue(text, oid, typmod)).toEqual(expected);
  });
});

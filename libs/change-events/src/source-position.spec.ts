import { DecodeError } from './change-event.errors';
import { SourcePosition } from './change-event.model';
import { isNewer, positionOf } from './source-position';

const lsn = (value: number | string, tsMs: number | null = null): SourcePosition => positionOf({ lsn: value, ts_ms: tsMs }, null);
const binlog = (file: string, pos: number | string, row?: number, tsMs: number | null = null): SourcePosition =>
  positionOf({ file, pos, row, ts_ms: tsMs }, null);
const ts = (tsMs: number): SourcePosition => positionOf({ ts_ms: tsMs }, null);

describe('positionOf', () => {
  it.each<[string, Record<string, unknown>, unknown, SourcePosition]>([
    [
      'a PostgreSQL source by lsn',
      { connector: 'postgresql', ts_ms: 1700000100123, txId: 771, lsn: 24023928 },
      1700000100456,
      { kind: 'lsn', key: '00000000000024023928', text: 'lsn:24023928', tsMs: 1700000100123 },
    ],
    [
      'an lsn sent as a digit string',
      { ts_ms: 1700000100123, lsn: '24023928' },
      null,
      { kind: 'lsn', key: '00000000000024023928', text: 'lsn:24023928', tsMs: 1700000100123 },
    ],
    [
      'a MySQL source by file, pos and row',
      { connector: 'mysql', ts_ms: 1700000200000, file: 'mysql-bin.000003', pos: 15482, row: 2 },
      1700000200345,
      { kind: 'binlog', key: '000000000003:00000000000000015482:00000002', text: 'mysql-bin.000003:15482:2', tsMs: 1700000200000 },
    ],
    [
      'a MySQL source without row (row 0)',
      { ts_ms: 1700000200000, file: 'mysql-bin.000003', pos: 15482 },
      null,
      { kind: 'binlog', key: '000000000003:00000000000000015482:00000000', text: 'mysql-bin.000003:15482:0', tsMs: 1700000200000 },
    ],
    [
      'a source with neither lsn nor binlog, by ts_ms',
      { ts_ms: 1700000300000 },
      1700000300999,
      { kind: 'ts', key: '00000001700000300000', text: 'ts_ms:1700000300000', tsMs: 1700000300000 },
    ],
    [
      'the event ts_ms when the source has none',
      { lsn: null, ts_ms: null },
      1700000100456,
      { kind: 'ts', key: '00000001700000100456', text: 'ts_ms:1700000100456', tsMs: 1700000100456 },
    ],
    [
      'the event ts_ms next to an lsn',
      { lsn: 24023928 },
      1700000100456,
      { kind: 'lsn', key: '00000000000024023928', text: 'lsn:24023928', tsMs: 1700000100456 },
    ],
    ['nothing at all', {}, undefined, { kind: 'ts', key: '00000000000000000000', text: 'ts_ms:0', tsMs: null }],
    [
      'a binlog file without pos, by ts_ms',
      { ts_ms: 1700000200000, file: 'mysql-bin.000003', pos: null },
      null,
      { kind: 'ts', key: '00000001700000200000', text: 'ts_ms:1700000200000', tsMs: 1700000200000 },
    ],
  ])('reads %s', (_name, source, eventTsMs, expected) => {
    expect(positionOf(source, eventTsMs)).toEqual(expected);
  });

  // Digit strings are read exactly, never through Number, up to what the key's field holds.
  it.each<[string, Record<string, unknown>, Pick<SourcePosition, 'key' | 'text'>]>([
    ['an lsn string just past 2^53', { lsn: '9007199254740993' }, { key: '00009007199254740993', text: 'lsn:9007199254740993' }],
    ['the largest lsn (unsigned 64-bit)', { lsn: '18446744073709551615' }, { key: '18446744073709551615', text: 'lsn:18446744073709551615' }],
    ['an lsn string with leading zeros', { lsn: '00024023928' }, { key: '00000000000024023928', text: 'lsn:24023928' }],
    ['lsn 0', { lsn: 0 }, { key: '00000000000000000000', text: 'lsn:0' }],
    ['the largest safe integer as a JSON number', { lsn: Number.MAX_SAFE_INTEGER }, { key: '00009007199254740991', text: 'lsn:9007199254740991' }],
    [
      'a binlog pos string past 2^53',
      { file: 'mysql-bin.000003', pos: '9007199254740993', row: '7' },
      { key: '000000000003:00009007199254740993:00000007', text: 'mysql-bin.000003:9007199254740993:7' },
    ],
    [
      'the largest binlog file number and row',
      { file: 'mysql-bin.999999999999', pos: 4, row: 99999999 },
      { key: '999999999999:00000000000000000004:99999999', text: 'mysql-bin.999999999999:4:99999999' },
    ],
    ['a ts_ms string', { ts_ms: '1700000300000' }, { key: '00000001700000300000', text: 'ts_ms:1700000300000' }],
    ['the last instant a date holds', { ts_ms: 8.64e15 }, { key: '00008640000000000000', text: 'ts_ms:8640000000000000' }],
  ])('reads %s exactly', (_name, source, expected) => {
    expect(positionOf(source, null)).toMatchObject(expected);
  });

  // What JSON.parse leaves of `"lsn":123456789012345678901`: a rounded number.
  const rounded = JSON.parse('123456789012345678901') as number;
  it.each<[string, Record<string, unknown>, unknown, RegExp]>([
    ['an lsn JSON.parse rounded', { lsn: rounded }, null, /source\.lsn 123456789012345680000 is beyond 2\^53/],
    ['an lsn of 1e21', { lsn: 1e21 }, null, /source\.lsn 1e\+21 is beyond 2\^53/],
    ['an lsn just past 2^53 as a number', { lsn: 2 ** 53 + 2 }, null, /beyond 2\^53/],
    ['an lsn string larger than 64 bits', { lsn: '18446744073709551616' }, null, /source\.lsn 18446744073709551616 is larger than 18446744073709551615/],
    ['an lsn string of 21 digits', { lsn: '123456789012345678901' }, null, /is larger than 18446744073709551615/],
    ['an lsn string of 5,000 digits', { lsn: '9'.repeat(5000) }, null, /9{40}… is larger than/],
    ['a negative lsn', { lsn: -1 }, null, /source\.lsn -1 is not a non-negative integer/],
    ['a fractional lsn', { lsn: 1.5 }, null, /source\.lsn 1\.5 is not a non-negative integer/],
    ['an lsn string in exponent notation', { lsn: '1e21' }, null, /source\.lsn "1e21" is not a non-negative integer/],
    ['an empty lsn string', { lsn: '' }, null, /source\.lsn "" is not/],
    ['an lsn string with a space', { lsn: ' 12' }, null, /is not a non-negative integer/],
    ['a negative lsn string', { lsn: '-12' }, null, /is not a non-negative integer/],
    ['an lsn in PostgreSQL notation', { lsn: '0/16B3748' }, null, /"0\/16B3748" is not a non-negative integer/],
    ['a boolean lsn', { lsn: true }, null, /source\.lsn true is not/],
    ['an object lsn', { lsn: { a: 1 } }, null, /source\.lsn \(an object\) is not/],
    ['an array lsn', { lsn: [1] }, null, /source\.lsn \(an array\) is not/],
    ['a negative binlog pos', { file: 'mysql-bin.000003', pos: -4 }, null, /source\.pos -4 is not a non-negative integer/],
    ['a binlog pos past 2^53 as a number', { file: 'mysql-bin.000003', pos: 2 ** 60 }, null, /source\.pos .* is beyond 2\^53/],
    ['a binlog row of 9 digits', { file: 'mysql-bin.000003', pos: 4, row: 100_000_000 }, null, /source\.row 100000000 is larger than 99999999/],
    ['a fractional binlog row', { file: 'mysql-bin.000003', pos: 4, row: 0.5 }, null, /source\.row 0\.5/],
    ['a binlog file number of 13 digits', { file: 'mysql-bin.1000000000000', pos: 4 }, null, /the number of source\.file 1000000000000 is larger/],
    ['a binlog file that is a number', { file: 3, pos: 4 }, null, /source\.file 3 is not a binlog file name/],
    ['a binlog file name of 300 characters', { file: 'x'.repeat(300), pos: 4 }, null, /source\.file "x{40}…" is not a binlog file name/],
    ['a ts_ms a date cannot hold', { ts_ms: 9e15 }, null, /source\.ts_ms 9000000000000000 is larger than 8640000000000000/],
    ['a negative ts_ms', { ts_ms: -1 }, null, /source\.ts_ms -1/],
    ['a fractional event ts_ms', {}, 1700000000000.5, /^bad position: ts_ms 1700000000000\.5 is not/],
    ['a ts_ms string with a fraction', { ts_ms: '1700000000000.5' }, null, /source\.ts_ms "1700000000000\.5"/],
    ['a bad ts_ms next to a good lsn', { lsn: 24023928, ts_ms: -5 }, null, /source\.ts_ms -5/],
  ])('refuses %s', (_name, source, eventTsMs, message) => {
    let error: unknown;
    try {
      positionOf(source, eventTsMs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe('BAD_POSITION');
    expect((error as DecodeError).message).toMatch(message);
  });
});

describe('isNewer', () => {
  // Each pair is [older, newer]; the cases where string order of the raw numbers would be wrong matter most.
  it.each<[string, SourcePosition, SourcePosition]>([
    ['lsn 9 < 10 (numeric, not lexicographic)', lsn(9), lsn(10)],
    ['lsn 99 < 100', lsn(99), lsn(100)],
    ['lsn 24023656 < 24023928', lsn(24023656), lsn(24023928)],
    ['lsn "9" < "10" as strings', lsn('9'), lsn('10')],
    ['lsn strings past 2^53 that Number would make equal', lsn('9007199254740992'), lsn('9007199254740993')],
    ['lsn 24023928 < an lsn of 20 digits', lsn(24023928), lsn('10000000000000000000')],
    ['the two largest lsns', lsn('18446744073709551614'), lsn('18446744073709551615')],
    ['binlog pos strings past 2^53', binlog('mysql-bin.000003', '9007199254740992'), binlog('mysql-bin.000003', '9007199254740993')],
    ['a later lsn wins even with an older ts_ms', lsn(100, 1700000000500), lsn(101, 1700000000000)],
    ['binlog files mysql-bin.000009 < mysql-bin.000010', binlog('mysql-bin.000009', 999999), binlog('mysql-bin.000010', 4)],
    ['binlog files mysql-bin.999999 < mysql-bin.1000000', binlog('mysql-bin.999999', 4), binlog('mysql-bin.1000000', 4)],
    ['binlog pos 9999 < 15482 in one file', binlog('mysql-bin.000003', 9999), binlog('mysql-bin.000003', 15482)],
    ['binlog row 9 < 10 at one pos', binlog('mysql-bin.000003', 15482, 9), binlog('mysql-bin.000003', 15482, 10)],
    ['binlog row 0 < 1 at one pos', binlog('mysql-bin.000003', 15482, 0), binlog('mysql-bin.000003', 15482, 1)],
    ['ts 999 < 1000', ts(999), ts(1000)],
    ['ts 1700000000009 < 1700000000010', ts(1700000000009), ts(1700000000010)],
  ])('%s', (_name, older, newer) => {
    expect(isNewer(newer, older)).toBe(true);
    expect(isNewer(older, newer)).toBe(false);
    // The key is stored and compared as text: its plain string order must agree.
    expect(older.key < newer.key).toBe(true);
  });

  it.each<[string, SourcePosition]>([
    ['an lsn', lsn(24023928, 1700000100123)],
    ['a binlog position', binlog('mysql-bin.000003', 15482, 0, 1700000200000)],
    ['a ts position', ts(1700000300000)],
    ['an empty position', positionOf({}, null)],
  ])('is false for %s equal to the stored one', (_name, position) => {
    expect(isNewer(position, position)).toBe(false);
    // As it comes back from storage: a plain copy of kind, key and tsMs.
    expect(isNewer(position, { kind: position.kind, key: position.key, tsMs: position.tsMs })).toBe(false);
  });

  it('is false for the same event decoded twice', () => {
    const source = { file: 'mysql-bin.000003', pos: 15482, row: 0, ts_ms: 1700000200000 };
    expect(isNewer(positionOf(source, 1700000200345), positionOf({ ...source }, 1700000200999))).toBe(false);
  });

  describe('across kinds, by source time', () => {
    it.each<[string, SourcePosition, { kind: string; key: string; tsMs: number | null }, boolean]>([
      ['lsn newer by ts than binlog', lsn(1, 2000), binlog('mysql-bin.000009', 9, 9, 1000), true],
      ['lsn older by ts than binlog, despite a larger key', lsn(99999999, 1000), binlog('mysql-bin.000001', 4, 0, 2000), false],
      ['binlog newer by ts than a backfilled ts position', binlog('mysql-bin.000001', 4, 0, 1700000000001), ts(1700000000000), true],
      ['ts older than lsn', ts(1700000000000), lsn(1, 1700000000001), false],
      ['equal source times', lsn(10, 1700000000000), ts(1700000000000), false],
      ['incoming without ts against a stored one', lsn(10), ts(5), false],
      ['incoming with ts against a stored one without', lsn(10, 5), { kind: 'binlog', key: '000000000001:00000000000000000004:00000000', tsMs: null }, true],
      ['both without ts', lsn(10), { kind: 'ts', key: '00000000000000000000', tsMs: null }, false],
    ])('%s', (_name, incoming, stored, expected) => {
      expect(isNewer(incoming, stored)).toBe(expected);
    });
  });
});

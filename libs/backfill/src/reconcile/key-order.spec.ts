import { isoFromParts } from '../legacy/legacy-source';
import { compareIntegerText, keyComparator, recordKeyOf, storedKeyParts } from './key-order';

describe('key order', () => {
  it.each<[string, string, number]>([
    ['9', '10', -1],
    ['10', '9', 1],
    ['100', '100', 0],
    ['-1', '0', -1],
    ['-10', '-9', -1],
    ['-9', '-10', 1],
    ['9007199254740993', '9007199254740992', 1],
  ])('compares integer texts %s and %s numerically: %i', (a, b, expected) => {
    expect(Math.sign(compareIntegerText(a, b))).toBe(expected);
  });

  it('sorts integer keys numerically and anything else after them, by bytes', () => {
    const cmp = keyComparator([{ name: 'id', type: 'integer' }]);
    const keys = ['10', 'abc', '9', '-3', '100', 'Z'].map((k) => [k]);
    expect(keys.sort(cmp).map((k) => k[0])).toEqual(['-3', '9', '10', '100', 'Z', 'abc']);
  });

  it('sorts uuid and text keys by bytes, composite keys part by part', () => {
    const cmp = keyComparator([
      { name: 'a', type: 'text' },
      { name: 'b', type: 'integer' },
    ]);
    const keys = [
      ['b', '2'],
      ['a', '10'],
      ['B', '1'],
      ['a', '9'],
    ];
    expect(keys.sort(cmp)).toEqual([
      ['B', '1'],
      ['a', '9'],
      ['a', '10'],
      ['b', '2'],
    ]);
  });

  it('reads composite record keys as the decoder writes them, and writes them back alike', () => {
    const cols = [
      { name: 'account_id', type: 'integer' as const },
      { name: 'line_no', type: 'integer' as const },
    ];
    expect(storedKeyParts('[4711,3]', 2)).toEqual(['4711', '3']);
    expect(storedKeyParts('not json', 2)).toEqual(['not json', '']);
    expect(recordKeyOf(['4711', '3'], cols)).toBe('[4711,3]');
    expect(recordKeyOf(['42'], cols.slice(0, 1))).toBe('42');
  });
});

describe('ISO timestamps as Debezium prints them', () => {
  it.each<[string, string]>([
    ['2024-01-01T00:00:00.000000', '2024-01-01T00:00:00Z'],
    ['2024-06-01T10:00:00.500000', '2024-06-01T10:00:00.5Z'],
    ['2024-06-01T10:00:00.000120', '2024-06-01T10:00:00.00012Z'],
    ['2024-06-01T10:00:00', '2024-06-01T10:00:00Z'],
  ])('%s → %s', (local, iso) => {
    expect(isoFromParts(local)).toBe(iso);
  });
});

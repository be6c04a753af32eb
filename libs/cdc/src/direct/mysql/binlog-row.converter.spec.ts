import { BinlogRowConverter } from './binlog-row.converter';

describe('binlog rows in the JSON form Debezium sends', () => {
  const columns = [
    { COLUMN_NAME: 'd3', COLUMN_TYPE: 'datetime(3)' },
    { COLUMN_NAME: 'd6', COLUMN_TYPE: 'datetime(6)' },
    { COLUMN_NAME: 'd0', COLUMN_TYPE: 'datetime' },
    { COLUMN_NAME: 'ts', COLUMN_TYPE: 'timestamp(3)' },
    { COLUMN_NAME: 'typed', COLUMN_TYPE: 'datetime(6)' },
    { COLUMN_NAME: 'day', COLUMN_TYPE: 'date' },
    { COLUMN_NAME: 't', COLUMN_TYPE: 'time(6)' },
    { COLUMN_NAME: 'j', COLUMN_TYPE: 'json' },
    { COLUMN_NAME: 'b', COLUMN_TYPE: 'varbinary(8)' },
    { COLUMN_NAME: 'n', COLUMN_TYPE: 'decimal(10,2)' },
    { COLUMN_NAME: 'big', COLUMN_TYPE: 'bigint(20)' },
  ];
  const converter = new BinlogRowConverter(columns, { typed: 'timestamp-millis' });

  it.each([
    ['d3', '2024-05-01 10:00:00.123', Date.UTC(2024, 4, 1, 10, 0, 0, 123)],
    ['d6', '2024-05-01 10:00:00.123456', Date.UTC(2024, 4, 1, 10, 0, 0, 123) * 1000 + 456],
    ['d0', '1969-12-31 23:59:59', -1000],
    ['ts', '2024-05-01 10:00:00.120', '2024-05-01T10:00:00.120Z'],
    ['typed', '2024-05-01 10:00:00.999999', Date.UTC(2024, 4, 1, 10, 0, 0, 999)],
    ['day', '1970-01-10', 9],
    ['t', '01:00:00.5', 3_600_500_000],
    ['j', '{"a": 1}', '{"a": 1}'],
    ['b', Buffer.from([1, 2, 255]), 'AQL/'],
    ['n', '-12.50', '-12.50'],
    ['big', '9007199254740993', '9007199254740993'],
    ['big', 42, 42],
    ['d3', null, null],
  ])('%s: %p → %p', (column, value, expected) => {
    expect(converter.convert({ [column]: value })[column]).toEqual(expected);
  });

  it('floors a datetime before the epoch to the millisecond, as the backfill does', () => {
    expect(converter.convert({ d3: '1969-12-31 23:59:59.9995' }).d3).toBe(-1);
  });
});

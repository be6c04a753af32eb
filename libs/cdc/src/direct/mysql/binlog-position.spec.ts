import { DebeziumJsonDecoder } from '../../debezium/debezium-json.decoder';
import { fromRoot, parseSources, readDocument } from '@app/config';
import { atOrAfter, checkpointPosition, eventStart, pointOf, rowPosition } from './binlog-position';

describe('binlog positions of the direct MySQL source', () => {
  const sources = parseSources(readDocument(fromRoot('config/sources.yaml')), 'config/sources.yaml');
  const decoder = new DebeziumJsonDecoder(sources);

  it.each([
    ['mysql-bin.000003', 15482, 0],
    ['mysql-bin.000003', 15482, 7],
    ['mariadb-bin.000123', 4, 0],
    ['binlog.999999', 4_294_967_000, 2],
  ])('gives %s:%d row %d the position the Debezium decoder gives it', (file, pos, row) => {
    const debezium = decoder.decode({
      topic: 'legacy.billing.accounts',
      value: JSON.stringify({ op: 'c', after: { account_id: 1, cust_ref: 'B-1', state: 0 }, source: { file, pos, row, ts_ms: 1700000000000 }, ts_ms: 1700000000999 }),
    });
    expect(debezium).toMatchObject({ kind: 'change' });
    expect(rowPosition(file, pos, row, 1700000000000)).toEqual((debezium as { position: unknown }).position);
  });

  it.each([
    // end_log_pos, body size, checksum → where the event starts (SHOW BINLOG EVENTS' Pos)
    [7706, 36, true, 7647],
    [8006, 49, true, 7934],
    [8180, 78, false, 8083],
  ])('reads an event ending at %d with a %d-byte body as starting at its Pos', (nextPosition, size, checksum, start) => {
    expect(eventStart({ nextPosition, size }, checksum)).toBe(start);
  });

  it('reads a checkpoint back as the point to resume from', () => {
    expect(pointOf(checkpointPosition({ file: 'mysql-bin.000012', pos: 8037 }, null))).toEqual({ file: 'mysql-bin.000012', pos: 8037 });
    expect(() => pointOf({ kind: 'lsn', key: '1', text: 'lsn:1', tsMs: null })).toThrow(/not a binlog position/);
  });

  it.each([
    [{ file: 'mysql-bin.000002', pos: 4 }, { file: 'mysql-bin.000001', pos: 90_000 }, true],
    [{ file: 'mysql-bin.000010', pos: 4 }, { file: 'mysql-bin.000009', pos: 4 }, true],
    [{ file: 'mysql-bin.000001', pos: 100 }, { file: 'mysql-bin.000001', pos: 100 }, true],
    [{ file: 'mysql-bin.000001', pos: 99 }, { file: 'mysql-bin.000001', pos: 100 }, false],
  ])('orders %o after %o: %s (files by number, then offset)', (a, b, expected) => {
    expect(atOrAfter(a, b)).toBe(expected);
  });
});

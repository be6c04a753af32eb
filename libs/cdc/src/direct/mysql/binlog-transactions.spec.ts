import { ChangeEventFactory } from '@app/change-events';
import { fromRoot, parseSources, readDocument } from '@app/config';
import { BinlogPoint } from './binlog-position';
import { BinlogEventLike, BinlogTransactions, CommittedUnit } from './binlog-transactions';

const sources = parseSources(readDocument(fromRoot('config/sources.yaml')), 'config/sources.yaml');
const billing = sources.systems.find((s) => s.name === 'billing')!;
const columns = ['account_id int', 'cust_ref varchar(32)', 'state tinyint', 'balance_cents bigint', 'modified datetime(3)'].map((c) => {
  const [COLUMN_NAME, COLUMN_TYPE] = c.split(' ');
  return { COLUMN_NAME, COLUMN_TYPE };
});
const tableMap = { 7: { parentSchema: 'billing', tableName: 'accounts', columnSchemas: columns }, 8: { parentSchema: 'billing', tableName: 'other', columnSchemas: columns } };

/** Events as zongji hands them over (size is the body without header and checksum). */
const ev = (name: string, nextPosition: number, more: Partial<BinlogEventLike> = {}): BinlogEventLike => ({ getEventName: () => name, nextPosition, size: 10, timestamp: 1_700_000_000_000, ...more });
const row = (id: number, cust: string) => ({ account_id: id, cust_ref: cust, state: 0, balance_cents: 1, modified: '2024-01-01 00:00:00.000' });

function follow(events: BinlogEventLike[]) {
  const commits: Array<{ unit: CommittedUnit | null; resume: BinlogPoint }> = [];
  const tx = new BinlogTransactions(billing, new ChangeEventFactory(sources), 'billing', 'accounts', () => true, (unit, resume) => commits.push({ unit, resume }));
  tx.startAt({ file: 'mysql-bin.000001', pos: 4 });
  events.forEach((e) => tx.handle(e));
  return commits;
}

describe('binlog transactions of the source table', () => {
  it('hands over a transaction at its commit, each row at its rows event and index, resuming after the commit', () => {
    const commits = follow([
      ev('mariadbgtid', 200, { gtid: '0-1-5' }),
      ev('tablemap', 300),
      ev('writerows', 400, { tableId: 7, tableMap, rows: [row(1, 'B-1'), row(2, 'B-2')] }),
      ev('updaterows', 500, { tableId: 7, tableMap, rows: [{ before: row(1, 'B-1'), after: row(1, 'B-9') }] }),
      ev('xid', 600, { gtid: '0-1-5' }),
    ]);
    expect(commits).toHaveLength(1);
    const { unit, resume } = commits[0];
    expect(resume).toEqual({ file: 'mysql-bin.000001', pos: 600 });
    expect(unit?.gtid).toBe('0-1-5');
    expect(unit?.changes.map((c) => c.ref)).toEqual(['mysql-bin.000001:367:0', 'mysql-bin.000001:367:1', 'mysql-bin.000001:467:0']);
    expect(unit?.changes.map((c) => (c.kind === 'event' && c.event.kind === 'change' ? `${c.event.op} ${c.event.customerId}` : c.kind))).toEqual(['c B-1', 'c B-2', 'u B-9']);
  });

  it('follows a rotation: rows after it are in the new file', () => {
    const commits = follow([ev('rotate', 0, { binlogName: 'mysql-bin.000002' }), ev('deleterows', 400, { tableId: 7, tableMap, rows: [row(1, 'B-1')] }), ev('xid', 600)]);
    expect(commits[0].unit?.changes[0].ref).toBe('mysql-bin.000002:367:0');
    expect(commits[0].resume.file).toBe('mysql-bin.000002');
  });

  it('passes over other tables, still moving the resume point', () => {
    const commits = follow([ev('writerows', 400, { tableId: 8, tableMap, rows: [row(1, 'B-1')] }), ev('xid', 600)]);
    expect(commits).toEqual([{ unit: null, resume: { file: 'mysql-bin.000001', pos: 600 } }]);
  });

  it.each([
    ['TRUNCATE accounts', 'billing', 'truncate'],
    ['TRUNCATE TABLE `billing`.`accounts`', 'other', 'truncate'],
    ['/* app */ truncate table billing.accounts', '', 'truncate'],
    ['TRUNCATE TABLE accounts_old', 'billing', null],
    ['TRUNCATE TABLE accounts', 'other', null],
    ['UPDATE accounts SET state = 1', 'billing', 'STATEMENT_LOGGED'],
    ['INSERT IGNORE INTO `accounts` VALUES (1)', 'billing', 'STATEMENT_LOGGED'],
    ['DELETE FROM billing.accounts', 'x', 'STATEMENT_LOGGED'],
    ['ALTER TABLE accounts ADD COLUMN x int', 'billing', null],
  ])('reads the query %p (default database %p) as %p', (query, schema, expected) => {
    const commits = follow([ev('query', 700, { query, schema })]);
    expect(commits).toHaveLength(1);
    const c = commits[0].unit?.changes[0];
    const kind = c === undefined ? null : c.kind === 'undecodable' ? c.code : c.kind === 'event' ? c.event.kind : c.kind;
    expect(kind).toBe(expected);
    expect(commits[0].resume.pos).toBe(700);
  });

  it('waits for COMMIT after a statement inside BEGIN … COMMIT', () => {
    const commits = follow([ev('query', 100, { query: 'BEGIN' }), ev('query', 200, { query: 'UPDATE accounts SET state = 2', schema: 'billing' }), ev('query', 300, { query: 'COMMIT' })]);
    expect(commits).toHaveLength(1);
    expect(commits[0].resume.pos).toBe(300);
    expect(commits[0].unit?.changes[0]).toMatchObject({ kind: 'undecodable', code: 'STATEMENT_LOGGED' });
  });

  it('hands over an XA transaction at its PREPARE, and takes its XA COMMIT as a transaction of its own', () => {
    const commits = follow([
      ev('query', 100, { query: "XA START 'x'" }),
      ev('writerows', 400, { tableId: 7, tableMap, rows: [row(1, 'B-1')] }),
      ev('query', 450, { query: "XA END 'x'" }),
      ev('xaprepare', 500),
      ev('query', 600, { query: "XA COMMIT 'x'" }),
    ]);
    expect(commits.map((c) => [c.unit?.changes.length ?? 0, c.resume.pos])).toEqual([
      [1, 500],
      [0, 600],
    ]);
  });

  it('dead-letters a row it cannot map (no customer key) and keeps the others', () => {
    const commits = follow([ev('writerows', 400, { tableId: 7, tableMap, rows: [row(1, '  '), row(2, 'B-2')] }), ev('xid', 600)]);
    expect(commits[0].unit?.changes.map((c) => c.kind)).toEqual(['undecodable', 'event']);
    expect(commits[0].unit?.rows[0]).toMatchObject({ account_id: 1 });
  });
});

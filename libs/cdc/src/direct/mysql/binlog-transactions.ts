import { ChangeEvent, ChangeEventFactory, DecodeError, TruncateEvent } from '@app/change-events';
import { SourceSystem } from '@app/config';
import { InboundChange, undecodableChange } from '../../transports/change-sink';
import { BinlogPoint, eventStart, rowPosition } from './binlog-position';
import { BinlogColumn, BinlogRowConverter } from './binlog-row.converter';

/** A committed transaction's changes of the source's table, and the point after it to resume from. */
export interface CommittedUnit {
  changes: InboundChange[];
  /** The row each change came from (for a dead letter), by index. */
  rows: unknown[];
  resume: BinlogPoint;
  gtid: string | null;
  /** The commit's time (the binlog's, second precision). */
  tsMs: number;
}

/** The few fields of zongji's events this reads (its typings narrow by method name only). */
export interface BinlogEventLike {
  getEventName(): string;
  nextPosition: number;
  size: number;
  timestamp: number;
  gtid?: string;
  binlogName?: string;
  query?: string;
  schema?: string;
  tableId?: number;
  tableMap?: Record<number, { parentSchema: string; tableName: string; columnSchemas: BinlogColumn[] }>;
  rows?: unknown[];
  standalone?: boolean;
}

interface OpenTransaction {
  changes: InboundChange[];
  rows: unknown[];
  gtid: string | null;
  /** Where the transaction began (its GTID or BEGIN event): the fallback offset of rows whose events carry none. */
  beginPos: number;
  /** Rows seen so far, for the fallback row numbers. */
  rowCount: number;
}

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';
const NAME = `(${IDENT}(?:\\s*\\.\\s*${IDENT})?)`;
const TRUNCATE = new RegExp(`^TRUNCATE\\s+(?:TABLE\\s+)?${NAME}`, 'i');
const DML = [
  new RegExp(`^(?:INSERT|REPLACE)\\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\\s+)*(?:INTO\\s+)?${NAME}`, 'i'),
  new RegExp(`^UPDATE\\s+(?:(?:LOW_PRIORITY|IGNORE)\\s+)*${NAME}`, 'i'),
  new RegExp(`^DELETE\\s+(?:(?:LOW_PRIORITY|QUICK|IGNORE)\\s+)*FROM\\s+${NAME}`, 'i'),
];
/** Statements that take part in a transaction, logged as SQL; anything else (DDL) is a transaction of its own. */
const IN_TRANSACTION = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'SAVEPOINT', 'RELEASE', 'LOAD', 'SET', 'DO', 'SELECT', 'CALL']);
const LEADING_COMMENTS = /^(?:\s+|\/\*(?!!)[\s\S]*?\*\/|#[^\n]*\n|--\s[^\n]*\n)*/;

/**
 * Follows the binlog's events as transactions and turns the rows of the source's table into
 * change events: each row of a rows event at Debezium's position (the event's file and start
 * offset, the row's index in it), a TRUNCATE of the table as a truncate event, and a statement
 * that changed the table but was logged as SQL (binlog_format STATEMENT or MIXED for that session)
 * as an undecodable change with its reason. A transaction is handed over at its commit, with the
 * point after the commit to resume from: a restart from there never lands between a table map and
 * its rows, and replays no transaction that was handed over.
 */
export class BinlogTransactions {
  private file = '';
  private tx: OpenTransaction | null = null;
  private readonly converters = new Map<number, { columns: BinlogColumn[]; converter: BinlogRowConverter }>();

  constructor(
    private readonly system: SourceSystem,
    private readonly events: ChangeEventFactory,
    /** The source table's database and name. */
    private readonly db: string,
    private readonly table: string,
    private readonly withChecksum: () => boolean,
    private readonly onCommit: (unit: CommittedUnit | null, resume: BinlogPoint, gtid: string | null) => void,
  ) {}

  /** Where the stream starts (before its first rotate event says so again). */
  startAt(point: BinlogPoint): void {
    this.file = point.file;
    this.tx = null;
  }

  get currentFile(): string {
    return this.file;
  }

  handle(e: BinlogEventLike): void {
    switch (e.getEventName()) {
      case 'rotate':
        if (e.binlogName) this.file = e.binlogName;
        return;
      case 'gtid':
      case 'mariadbgtid':
        this.tx = this.open(e.gtid ?? null, eventStart(e, this.withChecksum()));
        return;
      case 'query':
        return this.query(e);
      case 'writerows':
        return this.rows(e, 'c');
      case 'updaterows':
        return this.rows(e, 'u');
      case 'deleterows':
        return this.rows(e, 'd');
      case 'xid':
      case 'xaprepare':
        // An XA transaction's rows end with its PREPARE; its XA COMMIT comes later, alone.
        return this.commit(e);
      default:
        return;
    }
  }

  private open(gtid: string | null, beginPos: number): OpenTransaction {
    return { changes: [], rows: [], gtid, beginPos, rowCount: 0 };
  }

  private current(e: BinlogEventLike): OpenTransaction {
    this.tx ??= this.open(e.gtid ?? null, eventStart(e, this.withChecksum()));
    return this.tx;
  }

  private commit(e: BinlogEventLike): void {
    const tx = this.tx;
    this.tx = null;
    const resume = { file: this.file, pos: e.nextPosition };
    const gtid = tx?.gtid ?? e.gtid ?? null;
    const unit = tx && tx.changes.length > 0 ? { changes: tx.changes, rows: tx.rows, resume, gtid, tsMs: e.timestamp } : null;
    this.onCommit(unit, resume, gtid);
  }

  private query(e: BinlogEventLike): void {
    const sql = (e.query ?? '').replace(LEADING_COMMENTS, '');
    const inTransaction = this.tx !== null;
    const word = /^[A-Za-z]+/.exec(sql)?.[0]?.toUpperCase();
    if (word === 'BEGIN') {
      this.tx = this.open(this.tx?.gtid ?? e.gtid ?? null, this.tx?.beginPos ?? eventStart(e, this.withChecksum()));
      return;
    }
    if (word === 'XA') {
      if (/^XA\s+(COMMIT|ROLLBACK)\b/i.test(sql)) this.commit(e);
      return;
    }
    if (word === 'COMMIT' || word === 'ROLLBACK') return this.commit(e);
    const truncated = TRUNCATE.exec(sql);
    const dml = truncated ? null : DML.map((re) => re.exec(sql)).find((m) => m);
    const target = truncated ?? dml;
    if (target && this.isOurs(target[1], e.schema ?? '')) {
      const tx = this.current(e);
      const position = rowPosition(this.file, eventStart(e, this.withChecksum()), 0, e.timestamp);
      if (truncated) {
        const event: TruncateEvent = this.events.truncate(this.system, position);
        tx.changes.push({ kind: 'event', event, ref: position.text });
      } else {
        tx.changes.push({
          kind: 'undecodable',
          code: 'STATEMENT_LOGGED',
          reason:
            `a change of ${this.db}.${this.table} was logged as a statement, not as rows (binlog_format STATEMENT or MIXED in the session that made it): ` +
            `its rows are unknown; set binlog_format=ROW for every writer and reconcile the table`,
          ref: position.text,
        });
      }
      tx.rows.push({ statement: sql.slice(0, 4_000) });
    }
    // A statement inside BEGIN … COMMIT waits for the commit; DDL (TRUNCATE included) commits by itself.
    if (inTransaction && word !== undefined && IN_TRANSACTION.has(word)) return;
    this.commit(e);
  }

  private isOurs(name: string, defaultDb: string): boolean {
    const parts = name.split(/\s*\.\s*/).map((p) => (p.startsWith('`') ? p.slice(1, -1).replace(/``/g, '`') : p));
    const [db, table] = parts.length === 2 ? parts : [defaultDb, parts[0]];
    return db === this.db && table === this.table;
  }

  private rows(e: BinlogEventLike, op: ChangeEvent['op']): void {
    const entry = e.tableId === undefined ? undefined : e.tableMap?.[e.tableId];
    if (!entry || entry.parentSchema !== this.db || entry.tableName !== this.table) return;
    const tx = this.current(e);
    const converter = this.converterFor(e.tableId as number, entry.columnSchemas);
    // MariaDB may write end_log_pos 0 inside a transaction: then rows are numbered from its start.
    const fromEvent = e.nextPosition > 0;
    const start = fromEvent ? eventStart(e, this.withChecksum()) : tx.beginPos;
    (e.rows ?? []).forEach((r, i) => {
      const row = op === 'u' ? (r as { after: Record<string, unknown> }).after : (r as Record<string, unknown>);
      const raw = converter.convert(row);
      const position = rowPosition(this.file, start, fromEvent ? i : tx.rowCount + i, e.timestamp);
      tx.rows.push(raw);
      try {
        tx.changes.push({ kind: 'event', event: this.events.changeOfRow(this.system, op, raw, position), ref: position.text });
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        tx.changes.push(undecodableChange(err, position.text));
      }
    });
    tx.rowCount += e.rows?.length ?? 0;
  }

  /** One converter per table id and column list: a table map after ALTER TABLE brings new columns. */
  private converterFor(tableId: number, columns: BinlogColumn[]): BinlogRowConverter {
    const cached = this.converters.get(tableId);
    if (cached && cached.columns === columns) return cached.converter;
    const converter = new BinlogRowConverter(columns, this.system.fields);
    this.converters.set(tableId, { columns, converter });
    return converter;
  }
}

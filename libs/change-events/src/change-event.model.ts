export type ChangeOp = 'c' | 'u' | 'd' | 'r' | 't';

/**
 * Where an event sits in its source's log. `key` sorts lexicographically within one `kind`:
 * PostgreSQL by lsn, MySQL by binlog file + pos + row, anything else by source ts_ms.
 */
export interface SourcePosition {
  kind: 'lsn' | 'binlog' | 'ts';
  key: string;
  /** Human-readable, e.g. `lsn:24023928` or `mysql-bin.000003:15482:0`. */
  text: string;
  /** Source commit time (epoch ms) if the event carries it. */
  tsMs: number | null;
}

export interface ChangeEvent {
  kind: 'change';
  system: string;
  op: Exclude<ChangeOp, 't'>;
  recordKey: string;
  deleted: boolean;
  /** Normalized customer id, or null for a delete whose `before` holds only the primary key. */
  customerId: string | null;
  /** The raw fields as they arrived (after, or before for a delete). */
  raw: Record<string, unknown>;
  /** The same fields with values brought to their configured types (timestamps as epoch ms). */
  row: Record<string, unknown>;
  position: SourcePosition;
  /**
   * Columns the source did not send, whose stored values stand: PostgreSQL's logical replication
   * leaves out a TOASTed value an update did not change. Absent or empty: the row is whole.
   */
  unchanged?: readonly string[];
}

export interface TruncateEvent {
  kind: 'truncate';
  system: string;
  position: SourcePosition;
}

/**
 * How far a source without a broker (a binlog, a replication stream) has been projected: written
 * in the projection's transaction with the batch it follows, so it never says more or less than
 * what was committed. `position` is where to resume: every change before it is applied. `gtid`
 * is the transaction at that point where the server has GTIDs, for an operator.
 */
export interface SourceCheckpoint {
  source: string;
  position: SourcePosition;
  gtid?: string | null;
}

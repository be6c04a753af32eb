import { SourceSystem } from '@app/config';

/** How a record key column is ordered and compared (see docs/backfill.md, "Key order"). */
export type KeyType = 'integer' | 'uuid' | 'text';

export interface KeyColumn {
  name: string;
  type: KeyType;
}

/** A row as the connector would put it in `after`: values already in Debezium's JSON form. */
export type LegacyRow = Record<string, unknown>;

/** One row read from the legacy table, with its record key as text parts (for keyset paging and merging). */
export interface LegacyRecord {
  row: LegacyRow;
  key: string[];
}

/**
 * Where the source's log stands, as the fields of a Debezium `source` block: `lsn` for
 * PostgreSQL, `file`/`pos`/`row` for a MySQL binlog, else only `ts_ms`.
 */
export interface SourceBlock {
  ts_ms: number;
  lsn?: number;
  file?: string;
  pos?: number;
  row?: number;
}

/**
 * `index`: the table's primary key order, which its index serves (backfill).
 * `bytes`: an order the stored side can reproduce exactly; the same as `index` for integer and
 * uuid keys, byte order for text keys (reconcile).
 */
export type ReadOrder = 'index' | 'bytes';

/** A legacy table behind a read-only connection. */
export interface LegacySource {
  readonly system: SourceSystem;
  readonly dialect: 'postgres' | 'mysql';
  /** Human-readable, for messages: "PostgreSQL legacy_crm.crm.customers". */
  readonly description: string;
  readonly keyColumns: readonly KeyColumn[];
  /**
   * The log position now. Every row read after this call returns is at least as new as it, so it
   * is the position backfilled rows are stored with.
   */
  currentPosition(onWait?: (message: string) => void): Promise<SourceBlock>;
  /** A cheap estimate of the row count (statistics, or count(*) when there are none). */
  estimateRows(): Promise<number>;
  /** Up to `limit` rows after `after` (exclusive) in key order; keyset paging, never OFFSET. */
  readBatch(after: readonly string[] | null, limit: number, order: ReadOrder): Promise<LegacyRecord[]>;
  /** The rows of these keys that still exist, for re-checking a difference. */
  readKeys(keys: readonly string[][]): Promise<LegacyRecord[]>;
  close(): Promise<void>;
}

/** `crm.customers` → schema `crm`, table `customers`; `accounts` → the connection's default schema. */
export function splitTableName(table: string): { schema: string | null; name: string } {
  const dot = table.lastIndexOf('.');
  return dot < 0 ? { schema: null, name: table } : { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

/** Debezium prints ZonedTimestamp fractions without trailing zeros: `…:00Z`, `…:00.5Z`, `…:00.123456Z`. */
export function isoFromParts(localUtc: string | null): string | null {
  if (localUtc === null) return null;
  const trimmed = localUtc.includes('.') ? localUtc.replace(/\.?0+$/, '') : localUtc;
  return `${trimmed}Z`;
}

/** int8/bigint arrive as strings; Debezium sends numbers. Beyond 2^53 a number would lose digits, so those stay text. */
export function bigintValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

import { SourcePosition } from '@app/change-events';
import { CustomerView, StatusChange } from '../customer-view.model';

/** A change event with its mapping already evaluated, ready to be stored. */
export interface PreparedChange {
  system: string;
  recordKey: string;
  customerId: string | null;
  deleted: boolean;
  raw: Record<string, unknown>;
  status: string | null;
  rule: string | null;
  unmapped: { field: string; value: string } | null;
  position: SourcePosition;
  /** Columns the change left out, whose stored values are kept (null: the row is whole); the record is then mapped again from what is stored. */
  unchanged?: readonly string[] | null;
}

/**
 * An unmapped raw value as stored: at most UNMAPPED_VALUE_MAX characters, the rest cut off with
 * an ellipsis. It is indexed (the unmapped values are counted by it), and PostgreSQL refuses an
 * index entry over 2,704 bytes: a long value no rule maps must leave its record stored and
 * reported, not dead-lettered.
 */
export const UNMAPPED_VALUE_MAX = 200;

export function storedUnmapped(u: { field: string; value: string } | null | undefined): { field: string; value: string } | null {
  if (!u) return null;
  return u.value.length <= UNMAPPED_VALUE_MAX ? u : { field: u.field, value: `${u.value.slice(0, UNMAPPED_VALUE_MAX - 1)}…` };
}

export interface PreparedTruncate {
  system: string;
  position: SourcePosition;
}

export type PreparedItem = { kind: 'change'; change: PreparedChange } | { kind: 'truncate'; truncate: PreparedTruncate };

export interface CacheEntry {
  id: string;
  version: number;
  view: CustomerView | null;
}

/** Why an initial load was refused: these customers are known already (nothing was written). */
export interface KnownCustomers {
  known: ReadonlySet<string>;
}

export interface StoreResult {
  /** Changes that were newer than what was stored. */
  applied: number;
  /** Changes older than or equal to the stored state (duplicates, late events): nothing changed. */
  stale: number;
  /** The current view of every customer the batch touched (view null = no longer exists). */
  views: CacheEntry[];
  statusChanges: StatusChange[];
  /** Customer rows written (a new version each). */
  written: number;
}

import { RowProblem } from '../backfill/backfill.use-case';

/**
 * - `missing`: the legacy table has the record, the view has not (or has it deleted).
 * - `gone`: the view has a live record the legacy table no longer has.
 * - `differs`: both have it, but what the view derives from it differs: customer, mapped status or rule.
 */
export type DifferenceKind = 'missing' | 'gone' | 'differs';
export const DIFFERENCE_KINDS: readonly DifferenceKind[] = ['missing', 'gone', 'differs'];

export interface RecordSide {
  customerId: string | null;
  status: string | null;
  rule: string | null;
}

export interface Difference {
  kind: DifferenceKind;
  recordKey: string;
  customerId: string | null;
  /** What the legacy row maps to now; null for `gone`. */
  legacy: RecordSide | null;
  /** What the view holds; null when it has no such record. */
  view: (RecordSide & { deleted: boolean; position: string }) | null;
  /** One line for people: which of customer, status and rule differ. */
  detail: string;
}

export interface ReconcileReport {
  system: string;
  source: string;
  startedAt: string;
  finishedAt: string;
  /** The source position read at the start; repairs are stored with it. */
  position: string;
  legacyRows: number;
  /** Live records of this system in the view (in the snapshot the merge read). */
  viewRecords: number;
  counts: Record<DifferenceKind, number> & {
    /** Legacy rows that cannot be decoded or mapped: counted, never fatal, never "agreeing". */
    unmappable: number;
    /** Differences the view explains by a change event newer than the start: left to the stream. */
    inFlight: number;
  };
  /** Records re-applied (or deleted) by `--repair`, per kind; null without it. */
  repaired: Record<DifferenceKind, number> | null;
  /** True when no record is missing, gone or different (after repair, if it ran). */
  agreed: boolean;
  /** The first differences, in key order. */
  differences: Difference[];
  unmappableSamples: RowProblem[];
  interrupted: boolean;
  durationMs: number;
}

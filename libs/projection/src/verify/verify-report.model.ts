/** What `verify` can find wrong in the projection, checked against itself. */
export const VERIFY_KINDS = ['status', 'mapping', 'liveness', 'orphan', 'cache'] as const;
export type VerifyKind = (typeof VERIFY_KINDS)[number];

export const VERIFY_KIND_TEXT: Record<VerifyKind, string> = {
  status: 'stored status or reason differs from resolving the stored records again',
  mapping: "a record's stored mapping differs from mapping it again with the active rule set",
  liveness: 'live without a live record, or not live with one',
  orphan: 'live records whose customer row is missing',
  cache: 'the Redis entry differs from PostgreSQL',
};

export interface CustomerState {
  status: string | null;
  reason: string | null;
  live: boolean;
  version: number | null;
}

export interface VerifyDifference {
  kind: VerifyKind;
  customerId: string;
  /** What the projection holds (for `cache`: what Redis holds). */
  stored: CustomerState;
  /** What it should hold (for `cache`: what PostgreSQL holds). */
  expected: CustomerState;
  detail: string;
}

export interface VerifyReport {
  startedAt: string;
  finishedAt: string;
  /** The rule set version customers were resolved again with. */
  ruleSetVersion: number;
  customers: number;
  records: number;
  cacheChecked: boolean;
  /** Customers per kind of difference (a customer may count under several kinds). */
  counts: Record<VerifyKind, number>;
  /** Customers last evaluated by an older version while a reprojection to the active one runs: not counted as differences. */
  pendingReprojection: number;
  /** With --repair: customers per kind resolved again (or whose cache entry was dropped). */
  repaired: Record<VerifyKind, number> | null;
  /** The first differences found, in customer order (up to the limit). */
  first: VerifyDifference[];
  /** True when nothing differs (or everything that differed was repaired). */
  agreed: boolean;
  interrupted: boolean;
}

export function zeroCounts(): Record<VerifyKind, number> {
  return { status: 0, mapping: 0, liveness: 0, orphan: 0, cache: 0 };
}

/** The GraphQL-ready view of one customer, as Redis caches it and PostgreSQL rebuilds it. */
export interface SourceStatusView {
  system: string;
  recordKey: string;
  status: string;
  rule: string;
  /** JSON of the raw fields. */
  raw: string;
  sourceTimestamp: string | null;
  position: string | null;
}

export interface CustomerView {
  id: string;
  status: string;
  reason: string;
  statusSince: string;
  updatedAt: string;
  version: number;
  ruleSetVersion: number;
  sources: SourceStatusView[];
}

export interface StatusChangeView {
  customerId: string;
  from: string | null;
  to: string;
  reason: string;
  ruleSetVersion: number;
  at: string;
  /** The customer's version after the change; null for changes recorded before it was kept. */
  customerVersion: number | null;
  /**
   * The customer lost its last live record and no longer exists (a removal, not a status
   * change: `from` and `to` are its last status, and it is not in the history). Absent: false.
   */
  removed?: boolean;
}

/** A status change as the store commits it. */
export interface StatusChange extends StatusChangeView {
  /** Grows with every change of the customer's view: a consumer drops a change older than one it has. */
  customerVersion: number;
}

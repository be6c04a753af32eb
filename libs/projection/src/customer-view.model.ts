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
}

import { CustomerView, SourceStatusView } from '../customer-view.model';

export interface CustomerRow {
  id: string;
  status: string;
  reason: string;
  status_since: Date;
  updated_at: Date;
  version: string | number;
  live: boolean;
  rule_set_version: number;
}

export interface LiveRecordRow {
  customer_id: string;
  system: string;
  record_key: string;
  raw: string;
  status: string;
  rule: string;
  position: string;
  source_ts: Date | null;
}

export const LIVE_RECORDS_SQL = `
  SELECT customer_id, system, record_key, raw::text AS raw, status, rule, position, source_ts
  FROM source_record WHERE customer_id = ANY($1::text[]) AND NOT deleted
  ORDER BY customer_id, system, record_key`;

export const CUSTOMERS_SQL = `
  SELECT id, status, reason, status_since, updated_at, version, live, rule_set_version
  FROM customer WHERE id = ANY($1::text[])`;

/** A customer's live records as one JSON array (alias `c`: the customer), in the order views list them. */
export const LIVE_RECORDS_JSON = `
    (SELECT coalesce(json_agg(json_build_object(
        'customer_id', s.customer_id, 'system', s.system, 'record_key', s.record_key, 'raw', s.raw::text,
        'status', s.status, 'rule', s.rule, 'position', s.position,
        'source_ts_ms', (extract(epoch FROM s.source_ts) * 1000)::bigint) ORDER BY s.system, s.record_key), '[]'::json)
     FROM source_record s WHERE s.customer_id = c.id AND NOT s.deleted)`;

/**
 * Customers with their live records in one statement, so the view comes from one snapshot even
 * while a writer commits.
 */
export const CUSTOMER_VIEWS_SQL = `
  SELECT c.id, c.status, c.reason, c.status_since, c.updated_at, c.version, c.live, c.rule_set_version,
    ${LIVE_RECORDS_JSON} AS records
  FROM customer c WHERE c.id = ANY($1::text[])`;

export interface CustomerWithRecordsRow extends CustomerRow {
  records: Array<Omit<LiveRecordRow, 'source_ts'> & { source_ts_ms: number | null }>;
}

export function recordsOf(row: CustomerWithRecordsRow): LiveRecordRow[] {
  return row.records.map(({ source_ts_ms, ...r }) => ({ ...r, source_ts: source_ts_ms === null ? null : new Date(Number(source_ts_ms)) }));
}

export function toSourceView(r: LiveRecordRow): SourceStatusView {
  return {
    system: r.system,
    recordKey: r.record_key,
    status: r.status,
    rule: r.rule,
    raw: r.raw,
    sourceTimestamp: r.source_ts ? r.source_ts.toISOString() : null,
    position: r.position,
  };
}

/** The one place a customer view is assembled, for the cache and for reads that miss it. */
export function buildView(c: CustomerRow, records: readonly LiveRecordRow[]): CustomerView {
  return {
    id: c.id,
    status: c.status,
    reason: c.reason,
    statusSince: c.status_since.toISOString(),
    updatedAt: c.updated_at.toISOString(),
    version: Number(c.version),
    ruleSetVersion: c.rule_set_version,
    sources: records.map(toSourceView),
  };
}

export function groupByCustomer(rows: readonly LiveRecordRow[]): Map<string, LiveRecordRow[]> {
  const map = new Map<string, LiveRecordRow[]>();
  for (const r of rows) {
    const list = map.get(r.customer_id);
    if (list) list.push(r);
    else map.set(r.customer_id, [r]);
  }
  return map;
}

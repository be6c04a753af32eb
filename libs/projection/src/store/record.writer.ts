import { EntityManager } from 'typeorm';
import { isNewer } from '@app/change-events';
import { PreparedChange, PreparedItem, PreparedTruncate } from './store.model';
import { Statement } from './sql-script';

/**
 * The source records' side of a batch: the upsert that keeps the newest position per record and
 * reports the customers each change touched, truncates, and the per-system locks that keep a
 * truncate and the record writes of its system apart.
 */

export interface RecordOutcome {
  /** Applied changes: the customer the record left (it moved), else null. */
  left_customer: string | null;
  /** The record's customer in the statement's snapshot (null for a record it does not hold). */
  stored_customer: string | null;
  /** Applied changes: the record's customer now. */
  new_customer: string | null;
  applied: boolean;
}

/** Whether position `a` is newer than `b`: the same kind compares by key, different kinds by source time. */
export function newer(a: string, b: string): string {
  return `CASE WHEN ${b}.position_kind = ${a}.position_kind THEN ${a}.position_key > ${b}.position_key
               ELSE coalesce(${a}.source_ts, '-infinity') > coalesce(${b}.source_ts, '-infinity') END`;
}
const NEWER = newer('excluded', 's');

const KEEP_ON_DELETE = ['customer_id', 'raw', 'status', 'rule', 'unmapped_field', 'unmapped_value']
  .map((c) => `${c} = CASE WHEN excluded.deleted THEN s.${c} ELSE excluded.${c} END`)
  .join(',\n    ');

const APPLY_RECORDS_SQL = `
WITH input AS (
  -- One JSON document for the batch: serializing it is one native JSON.stringify, where thirteen
  -- array parameters cost an escape per element (measured in the ingest profile).
  SELECT * FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
    AS (system text, record_key text, customer_id text, raw jsonb, status text, rule text, unmapped_field text, unmapped_value text,
        position_kind text, position_key text, position text, source_ts timestamptz, deleted boolean, unchanged text[])) WITH ORDINALITY
    AS t(system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
         position_kind, position_key, position, source_ts, deleted, unchanged, ord)
),
kept AS (
  -- The stored record of a change that left columns out (PostgreSQL's unchanged TOASTed values),
  -- locked: FOR UPDATE waits for another writer of the row and reads what it committed.
  SELECT s.system, s.record_key, s.raw FROM source_record s
  JOIN input i ON i.system = s.system AND i.record_key = s.record_key
  WHERE i.unchanged IS NOT NULL
  FOR UPDATE OF s
),
up AS (
  INSERT INTO source_record AS s (system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
                                  position_kind, position_key, position, source_ts, deleted, updated_at)
  SELECT i.system, i.record_key, customer_id,
         -- The columns left out keep their stored values.
         CASE WHEN i.unchanged IS NULL THEN i.raw
              ELSE coalesce((SELECT jsonb_object_agg(c, k.raw -> c) FROM unnest(i.unchanged) c WHERE k.raw ? c), '{}'::jsonb) || i.raw END,
         status, rule, unmapped_field, unmapped_value,
         position_kind, position_key, position, source_ts,
         -- Older than the system's last truncate: the truncate removed it after this event.
         deleted OR EXISTS (SELECT 1 FROM source_truncate w WHERE w.system = i.system AND NOT ${newer('i', 'w')}),
         now()
  FROM input i
  LEFT JOIN kept k ON i.unchanged IS NOT NULL AND k.system = i.system AND k.record_key = i.record_key
  ON CONFLICT (system, record_key) DO UPDATE SET
    left_customer_id = CASE WHEN excluded.deleted OR s.customer_id IS NOT DISTINCT FROM excluded.customer_id THEN NULL ELSE s.customer_id END,
    ${KEEP_ON_DELETE},
    position_kind = excluded.position_kind, position_key = excluded.position_key, position = excluded.position,
    source_ts = excluded.source_ts, deleted = excluded.deleted, updated_at = now()
  WHERE ${NEWER}
  RETURNING s.system, s.record_key, s.customer_id, s.left_customer_id
)
-- stored: what this statement's snapshot holds (the main query does not see the upsert's writes),
-- the customer of a change that turns out stale, whose view is cached again. Never the customer
-- an applied change takes a record from: a record that another transaction inserted and had not
-- committed when this statement began is not in the snapshot (the upsert waits for that insert,
-- then updates the row); left_customer_id, set from the row the upsert locked, is that customer.
SELECT up.left_customer_id AS left_customer, stored.customer_id AS stored_customer, up.customer_id AS new_customer,
       (up.record_key IS NOT NULL) AS applied
FROM input i
LEFT JOIN source_record stored ON stored.system = i.system AND stored.record_key = i.record_key
LEFT JOIN up ON up.system = i.system AND up.record_key = i.record_key
ORDER BY i.ord`;

// A statement ending in SELECT: TypeORM returns [rows, count] for a bare UPDATE ... RETURNING.
const TRUNCATE_SQL = `
WITH t AS (
  UPDATE source_record s SET deleted = true, position_kind = $2, position_key = $3, position = $4, source_ts = $5, updated_at = now()
  WHERE s.system = $1 AND NOT s.deleted
    AND CASE WHEN s.position_kind = $2 THEN $3 > s.position_key
             ELSE coalesce($5::timestamptz, '-infinity') > coalesce(s.source_ts, '-infinity') END
  RETURNING s.customer_id
), watermark AS (
  INSERT INTO source_truncate AS w (system, position_kind, position_key, position, source_ts)
  VALUES ($1, $2, $3, $4, $5::timestamptz)
  ON CONFLICT (system) DO UPDATE SET position_kind = excluded.position_kind, position_key = excluded.position_key,
    position = excluded.position, source_ts = excluded.source_ts, updated_at = now()
  WHERE ${newer('excluded', 'w')}
)
SELECT DISTINCT customer_id FROM t`;

// A truncate and the record writes of its system exclude each other: writers hold the system's
// lock shared, a truncate exclusively, each taken in a statement of its own before the writes.
// Otherwise a record inserted by a transaction still open when the truncate's UPDATE runs is not
// seen by it, while that insert did not see the truncate's watermark either: both commit and
// the record stays live although it is older than the truncate. Systems in hash order (the order
// the locks are taken in, so that two writers never wait on each other), always before customers.
const LOCK_SYSTEMS_SQL = `
SELECT CASE WHEN exclusive THEN pg_advisory_xact_lock(7317, hashtext(system))::text
            ELSE pg_advisory_xact_lock_shared(7317, hashtext(system))::text END
FROM (SELECT system, bool_or(exclusive) AS exclusive FROM json_to_recordset($1::json) AS t(system text, exclusive boolean)
      GROUP BY system ORDER BY hashtext(system), system) s`;

/** A truncate of one system: its records older than the truncate deleted, its watermark kept. Its rows: the customers that lost records. */
export function truncateStatement(t: PreparedTruncate): Statement {
  return { sql: TRUNCATE_SQL, params: [t.system, t.position.kind, t.position.key, t.position.text, t.position.tsMs === null ? null : new Date(t.position.tsMs)] };
}

export function truncatedCustomers(rows: unknown[]): string[] {
  return (rows as { customer_id: string | null }[]).flatMap((r) => (r.customer_id ? [r.customer_id] : []));
}

/** Upserts the changes (the newest per record, in key order), newer positions only; its rows: one RecordOutcome per change. */
export function applyRecordsStatement(changes: PreparedChange[]): Statement {
  return { sql: APPLY_RECORDS_SQL, params: [JSON.stringify(changes.map(recordRow))] };
}

/** A change as the statements' `jsonb_to_recordset` reads it (the columns of `source_record`). */
function recordRow(c: PreparedChange) {
  return {
    system: c.system,
    record_key: c.recordKey,
    customer_id: c.customerId,
    raw: c.raw,
    status: c.status,
    rule: c.rule,
    unmapped_field: c.unmapped?.field ?? null,
    unmapped_value: c.unmapped?.value ?? null,
    position_kind: c.position.kind,
    position_key: c.position.key,
    position: c.position.text,
    source_ts: c.position.tsMs === null ? null : new Date(c.position.tsMs).toISOString(),
    deleted: c.deleted,
    unchanged: c.unchanged ?? null,
  };
}

type Segment = { kind: 'changes'; changes: PreparedChange[] } | { kind: 'truncate'; truncate: PreparedTruncate };

/** Splits a batch at truncates, which must apply in order with the changes around them. */
export function segments(items: readonly PreparedItem[]): Segment[] {
  const out: Segment[] = [];
  let current: PreparedChange[] = [];
  for (const item of items) {
    if (item.kind === 'change') current.push(item.change);
    else {
      if (current.length) out.push({ kind: 'changes', changes: current });
      current = [];
      out.push({ kind: 'truncate', truncate: item.truncate });
    }
  }
  if (current.length) out.push({ kind: 'changes', changes: current });
  return out;
}

/** LOCK_SYSTEMS_SQL's locks for a batch: exclusive for the systems it truncates, shared for the others; null when it has none. */
export function lockSystemsStatement(items: readonly PreparedItem[]): Statement | null {
  const exclusive = new Map<string, boolean>();
  for (const item of items) {
    if (item.kind === 'truncate') exclusive.set(item.truncate.system, true);
    else if (!exclusive.has(item.change.system)) exclusive.set(item.change.system, false);
  }
  if (exclusive.size === 0) return null;
  return { sql: LOCK_SYSTEMS_SQL, params: [JSON.stringify([...exclusive].map(([system, x]) => ({ system, exclusive: x })))] };
}

/** Takes the batch's system locks in a statement of its own. */
export async function lockSystems(em: EntityManager, items: readonly PreparedItem[]): Promise<void> {
  const lock = lockSystemsStatement(items);
  if (lock) await em.query(lock.sql, [...lock.params]);
}

export function recordId(system: string, recordKey: string): string {
  return `${system}\u0000${recordKey}`;
}

/**
 * One row per record: PostgreSQL cannot update a row twice in one statement, and only the newest
 * counts. `sorted`: in key order, so that two batches committing at once lock the records they
 * share in the same order (the general path's upsert); the initial load inserts and locks nothing
 * of the records'.
 */
export function newestPerRecord(changes: PreparedChange[], sorted = true): PreparedChange[] {
  const bySystem = new Map<string, Map<string, PreparedChange>>();
  let duplicates = false;
  for (const c of changes) {
    let byKey = bySystem.get(c.system);
    if (!byKey) bySystem.set(c.system, (byKey = new Map()));
    const prev = byKey.get(c.recordKey);
    if (prev) duplicates = true;
    if (!prev || isNewer(c.position, prev.position)) byKey.set(c.recordKey, c);
  }
  const out = duplicates ? [...bySystem.values()].flatMap((m) => [...m.values()]) : changes;
  return sorted ? out.sort((a, b) => compareKeys(a.system, b.system) || compareKeys(a.recordKey, b.recordKey)) : out;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { isNewer, SourcePosition } from '@app/cdc';
import { RuleSetRepository } from '../rules/rule-set.repository';
import { CustomerView, StatusChange } from '../customer-view.model';
import { ActiveRuleSet, ActiveRules } from '../rules/active-rule-set';
import { copyIn, CopyText, copyValue, isoTimestamps } from './copy-in';
import { CustomerResolution, decider } from './customer-resolution';
import { buildView, CUSTOMERS_SQL, CustomerRow, groupByCustomer, LIVE_RECORDS_SQL, LiveRecordRow } from './customer-view.builder';

import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

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
}

interface RecordOutcome {
  /** Applied changes: the customer the record left (it moved), else null. */
  left_customer: string | null;
  /** The record's customer in the statement's snapshot (null for a record it does not hold). */
  stored_customer: string | null;
  /** Applied changes: the record's customer now. */
  new_customer: string | null;
  applied: boolean;
}

/** Whether position `a` is newer than `b`: the same kind compares by key, different kinds by source time. */
function newer(a: string, b: string): string {
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
        position_kind text, position_key text, position text, source_ts timestamptz, deleted boolean)) WITH ORDINALITY
    AS t(system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
         position_kind, position_key, position, source_ts, deleted, ord)
),
stored AS (
  -- What this statement's snapshot holds: the customer of a change that turns out stale, whose
  -- view is cached again. Never the customer an applied change takes a record from: a record
  -- that another transaction inserted and had not committed when this statement began is not in
  -- the snapshot (the upsert waits for that insert, then updates the row); left_customer_id,
  -- set from the row the upsert locked, is that customer.
  SELECT s.system, s.record_key, s.customer_id FROM source_record s
  JOIN input i ON i.system = s.system AND i.record_key = s.record_key
),
up AS (
  INSERT INTO source_record AS s (system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
                                  position_kind, position_key, position, source_ts, deleted, updated_at)
  SELECT system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
         position_kind, position_key, position, source_ts,
         -- Older than the system's last truncate: the truncate removed it after this event.
         deleted OR EXISTS (SELECT 1 FROM source_truncate w WHERE w.system = i.system AND NOT ${newer('i', 'w')}),
         now()
  FROM input i
  ON CONFLICT (system, record_key) DO UPDATE SET
    left_customer_id = CASE WHEN excluded.deleted OR s.customer_id IS NOT DISTINCT FROM excluded.customer_id THEN NULL ELSE s.customer_id END,
    ${KEEP_ON_DELETE},
    position_kind = excluded.position_kind, position_key = excluded.position_key, position = excluded.position,
    source_ts = excluded.source_ts, deleted = excluded.deleted, updated_at = now()
  WHERE ${NEWER}
  RETURNING s.system, s.record_key, s.customer_id, s.left_customer_id
)
SELECT up.left_customer_id AS left_customer, stored.customer_id AS stored_customer, up.customer_id AS new_customer,
       (up.record_key IS NOT NULL) AS applied
FROM input i
LEFT JOIN stored ON stored.system = i.system AND stored.record_key = i.record_key
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

// Sorted so that concurrent writers (live events, backfill, reprojection) take them in one order.
// The ids come as a JSON array (JSON.stringify is native; the driver builds a text[] literal
// element by element, which cost the backfill about 0.5 KB of garbage per customer).
const LOCK_CUSTOMERS_SQL = `
SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(id, 7316) AS h FROM json_array_elements_text($1::json) id ORDER BY 1) s`;

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

const REMAP_SQL = `
UPDATE source_record s SET status = u.status, rule = u.rule, unmapped_field = u.unmapped_field, unmapped_value = u.unmapped_value
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(system, record_key, status, rule, unmapped_field, unmapped_value)
WHERE s.system = u.system AND s.record_key = u.record_key`;

const WRITE_CUSTOMERS_SQL = `
WITH c AS (
  INSERT INTO customer (id, status, reason, status_since, updated_at, version, live, rule_set_version)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[], $7::boolean[], $8::int[])
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, reason = excluded.reason, status_since = excluded.status_since,
    updated_at = excluded.updated_at, version = excluded.version, live = excluded.live, rule_set_version = excluded.rule_set_version
  RETURNING 1
), changes AS (
  SELECT * FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::timestamptz[], $15::bigint[])
    AS t(customer_id, from_status, to_status, reason, rule_set_version, at, customer_version)
), h AS (
  INSERT INTO status_history (customer_id, from_status, to_status, reason, rule_set_version, at, customer_version) SELECT * FROM changes RETURNING 1
), o AS (
  -- The transactional outbox: a change is published only if it committed, and none committed is lost.
  INSERT INTO status_outbox (customer_id, from_status, to_status, reason, rule_set_version, at, customer_version) SELECT * FROM changes RETURNING 1
)
SELECT (SELECT count(*) FROM c) AS customers, (SELECT count(*) FROM h) AS history, (SELECT count(*) FROM o) AS outbox`;

// Which of an initial load's customers are known already: the batch then takes the general path
// (the caller may send the rest again without them). Asked before the transaction, without locks:
// a customer that a live event stores after it makes the COPY of the customers fail on its key (a
// known record, that of the records), and the batch takes the general path all the same.
const KNOWN_CUSTOMERS_SQL = `
SELECT c.id FROM customer c JOIN json_array_elements_text($1::json) AS i(id) ON c.id = i.id`;

// Whether a record is older than its system's last truncate (the batch then takes the general
// path); and the transaction's time, which the COPY leaves to the columns' defaults.
const LOAD_NEW_TRUNCATED_SQL = `
SELECT EXISTS (SELECT 1 FROM source_truncate w
                 JOIN jsonb_to_recordset($1::jsonb) AS i(system text, position_kind text, position_key text, source_ts timestamptz)
                 ON w.system = i.system
               WHERE NOT ${newer('i', 'w')}) AS truncated, now() AS at`;

// What an initial load writes, by COPY: customers first, so that one already known (a concurrent
// writer's) stops the page before anything else is sent. The times it stamps are left to the
// columns' default, the transaction's time (PostgreSQL would parse each one).
const COPY_CUSTOMERS = `COPY customer (id, status, reason, version, live, rule_set_version) FROM STDIN`;
const COPY_RECORDS = `COPY source_record (system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
  position_kind, position_key, position, source_ts, deleted) FROM STDIN`;
const COPY_HISTORY = `COPY status_history (customer_id, from_status, to_status, reason, rule_set_version, customer_version) FROM STDIN`;
const COPY_OUTBOX = `COPY status_outbox (customer_id, from_status, to_status, reason, rule_set_version, customer_version) FROM STDIN`;

/** PostgreSQL side of the projection: source records, canonical customers, history. */
@Injectable()
export class ProjectionStore {
  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    private readonly activeRules: ActiveRuleSet,
    private readonly ruleSets: RuleSetRepository,
    private readonly resolution: CustomerResolution,
  ) {}

  /**
   * The rule set to evaluate with inside a writing transaction: the active row is read FOR SHARE,
   * so a publish waits for this transaction, and a transaction after the publish sees the new
   * version even if this instance has not heard of it yet.
   */
  async rulesFor(em: EntityManager): Promise<ActiveRules> {
    return this.activeRules.ensure(await this.ruleSets.activeVersion(em, true));
  }

  /**
   * Applies a batch in one transaction with a fixed number of round trips, whatever its size.
   * `touched` customers are re-read even when nothing of theirs changed, so that the cache can be
   * refreshed after a crash between a commit and the cache write.
   */
  async apply(
    items: readonly PreparedItem[],
    touched: readonly string[] = [],
    mappedWith: number | null = null,
  ): Promise<StoreResult & { ruleSetVersion: number }> {
    const now = new Date();
    return this.db.transaction(async (em) => {
      await lockSystems(em, items);
      const rules = await this.rulesFor(em);
      let applied = 0;
      let stale = 0;
      const changed = new Set<string>();
      const affected = new Set<string>(touched);
      // Records this batch wrote, mapped with the rule set of this transaction: not mapped again.
      const fresh = new Set<string>();
      const sameRules = mappedWith === rules.version;
      for (const segment of segments(items)) {
        if (segment.kind === 'truncate') {
          const t = segment.truncate;
          const rows: { customer_id: string | null }[] = await em.query(TRUNCATE_SQL, [
            t.system,
            t.position.kind,
            t.position.key,
            t.position.text,
            t.position.tsMs === null ? null : new Date(t.position.tsMs),
          ]);
          applied += 1;
          for (const r of rows) if (r.customer_id) changed.add(r.customer_id);
          continue;
        }
        const changes = newestPerRecord(segment.changes);
        stale += segment.changes.length - changes.length;
        const outcomes = await this.applyRecords(em, changes);
        outcomes.forEach((o, i) => {
          if (o.applied) {
            // Every customer that gained or lost the record is resolved again, under its lock.
            applied += 1;
            if (sameRules && !changes[i].deleted) fresh.add(recordId(changes[i].system, changes[i].recordKey));
            if (o.left_customer) changed.add(o.left_customer);
            if (o.new_customer) changed.add(o.new_customer);
          } else {
            // Nothing changed; the views are cached again (a crash may have come between a commit and its cache write).
            stale += 1;
            if (o.stored_customer) affected.add(o.stored_customer);
            if (changes[i].customerId) affected.add(changes[i].customerId);
          }
        });
      }
      for (const id of changed) affected.add(id);
      const result = await this.resolveCustomers(em, [...affected], changed, rules, now, fresh);
      return { applied, stale, ...result, ruleSetVersion: rules.version };
    });
  }

  /**
   * The initial-load path: when none of the batch's records and customers is known yet, each
   * customer is resolved from the batch's own records and everything is written with COPY, with
   * the result the general path would give (records, customer at version 1, one history entry and
   * outbox message each). Returns the known customers, having written nothing, when there are
   * any; null, having written nothing, when a record is older than its system's last truncate or
   * the rule set changed since mapping: the caller then takes `apply` (for the known customers'
   * changes at least). A customer or record stored meanwhile makes the COPY fail on its key, with
   * nothing written either (ApplyChangesUseCase then takes `apply`). In the transaction the
   * customers are locked first, so a live event for one of them waits, and then resolves it from
   * everything committed; if the two wait on each other, PostgreSQL cancels one as a deadlock,
   * which is retried.
   * No views are cached: the customers are new, so Redis holds nothing stale, and the first read
   * fills it.
   */
  async loadNew(items: readonly PreparedChange[], mappedWith: ActiveRules): Promise<(StoreResult & { ruleSetVersion: number }) | KnownCustomers | null> {
    if (items.some((c) => c.deleted)) return null;
    const batch = loadBatch(items);
    // Known customers (a second system, a re-run, live events that came first) are the usual
    // reason to refuse: looked up before anything is written out or locked.
    if (batch.ids.length > 0) {
      const known = (await this.db.query(KNOWN_CUSTOMERS_SQL, [batch.idList])) as Array<{ id: string }>;
      if (known.length > 0) return { known: new Set(known.map((k) => k.id)) };
    }
    const load = initialLoad(batch, mappedWith);
    const { ids, idList, stale } = batch;
    const applied = batch.changes.length;
    return this.db.transaction(async (em) => {
      const rules = await this.rulesFor(em);
      if (rules.version !== mappedWith.version) return null;
      await lockSystems(em, items.map((change) => ({ kind: 'change' as const, change })));
      if (ids.length > 0) await em.query(LOCK_CUSTOMERS_SQL, [idList]);
      const [{ truncated, at }] = (await em.query(LOAD_NEW_TRUNCATED_SQL, [load.positions])) as Array<{ truncated: boolean; at: Date }>;
      if (truncated) return null;
      await copyIn(em, COPY_CUSTOMERS, load.customers);
      await copyIn(em, COPY_RECORDS, load.records);
      await copyIn(em, COPY_HISTORY, load.entries);
      await copyIn(em, COPY_OUTBOX, load.entries);
      const when = at.toISOString();
      const statusChanges = ids.map(
        (customerId, i): StatusChange => ({ customerId, from: null, to: load.statuses[i], reason: load.reasons[i], ruleSetVersion: rules.version, at: when, customerVersion: 1 }),
      );
      return { applied, stale, views: [], statusChanges, ruleSetVersion: rules.version };
    });
  }

  /**
   * Resolves customers again from their stored records under the active rule set, each live one
   * with a new version, so that it replaces whatever the cache holds: the repair of `verify`.
   */
  async resolveAgain(ids: readonly string[], now = new Date()): Promise<StoreResult & { ruleSetVersion: number }> {
    return this.db.transaction(async (em) => {
      const rules = await this.rulesFor(em);
      const result = await this.resolveCustomers(em, [...ids], new Set(ids), rules, now);
      return { applied: 0, stale: 0, views: result.views, statusChanges: result.statusChanges, ruleSetVersion: rules.version };
    });
  }

  /** Re-resolves customers under `rules`; only those whose view changed get a new version. */
  async resolveCustomers(
    em: EntityManager,
    ids: string[],
    changed: ReadonlySet<string>,
    rules: ActiveRules,
    now: Date,
    fresh: ReadonlySet<string> = new Set(),
  ): Promise<{ views: CacheEntry[]; statusChanges: StatusChange[]; written: number }> {
    const views: CacheEntry[] = [];
    const statusChanges: StatusChange[] = [];
    if (ids.length === 0) return { views, statusChanges, written: 0 };
    ids.sort();
    await em.query(LOCK_CUSTOMERS_SQL, [JSON.stringify(ids)]);
    const records = groupByCustomer((await em.query(LIVE_RECORDS_SQL, [ids])) as LiveRecordRow[]);
    const existing = new Map(((await em.query(CUSTOMERS_SQL, [ids])) as CustomerRow[]).map((c) => [c.id, c]));

    const { compiled } = rules;
    const decide = decider(compiled);
    const writes: CustomerRow[] = [];
    const remapped: LiveRecordRow[] = [];
    const remappedUnmapped: Array<{ field: string; value: string } | null> = [];
    for (const id of ids) {
      const before = existing.get(id);
      // Every record is mapped again with this one rule set, so a customer is never evaluated by
      // a mix of two versions (a record stored under an older version, a new one under this).
      const recs = (records.get(id) ?? []).map((r) => {
        if (fresh.size > 0 && fresh.has(recordId(r.system, r.record_key))) return r;
        const again = this.resolution.remap(r, compiled, now.getTime());
        if (again && (again.status !== r.status || again.rule !== r.rule)) {
          const updated = { ...r, status: again.status, rule: again.rule };
          remapped.push(updated);
          remappedUnmapped.push(storedUnmapped(again.unmapped));
          return updated;
        }
        return r;
      });
      const mappingChanged = recs.some((r, i) => r !== (records.get(id) ?? [])[i]);
      if (recs.length === 0) {
        // No live record in any system: the customer does not exist (any more).
        if (before) {
          const gone = before.live ? { ...before, live: false, updated_at: now, version: Number(before.version) + 1 } : before;
          if (before.live) writes.push(gone);
          views.push({ id, version: Number(gone.version), view: null });
        }
        continue;
      }
      const decided = decide(recs);
      const wasLive = before?.live === true;
      const statusChanged = !wasLive || before.status !== decided.status;
      const reasonChanged = !wasLive || before.reason !== decided.reason;
      let row: CustomerRow;
      if (before && !statusChanged && !reasonChanged && !changed.has(id) && !mappingChanged) {
        row = before;
      } else {
        row = {
          id,
          status: decided.status,
          reason: decided.reason,
          status_since: statusChanged || !before ? now : before.status_since,
          updated_at: now,
          version: Number(before?.version ?? 0) + 1,
          live: true,
          rule_set_version: rules.version,
        };
        writes.push(row);
        if (statusChanged) {
          statusChanges.push({
            customerId: id,
            from: wasLive ? before.status : null,
            to: decided.status,
            reason: decided.reason,
            ruleSetVersion: rules.version,
            at: now.toISOString(),
            customerVersion: Number(row.version),
          });
        }
      }
      views.push({ id, version: Number(row.version), view: buildView(row, recs) });
    }
    if (remapped.length > 0) {
      await em.query(REMAP_SQL, [
        remapped.map((r) => r.system),
        remapped.map((r) => r.record_key),
        remapped.map((r) => r.status),
        remapped.map((r) => r.rule),
        remappedUnmapped.map((u) => u?.field ?? null),
        remappedUnmapped.map((u) => u?.value ?? null),
      ]);
    }
    if (writes.length > 0 || statusChanges.length > 0) {
      await em.query(WRITE_CUSTOMERS_SQL, [
        writes.map((w) => w.id),
        writes.map((w) => w.status),
        writes.map((w) => w.reason),
        writes.map((w) => w.status_since),
        writes.map((w) => w.updated_at),
        writes.map((w) => String(w.version)),
        writes.map((w) => w.live),
        writes.map((w) => w.rule_set_version),
        statusChanges.map((c) => c.customerId),
        statusChanges.map((c) => c.from),
        statusChanges.map((c) => c.to),
        statusChanges.map((c) => c.reason),
        statusChanges.map((c) => c.ruleSetVersion),
        statusChanges.map((c) => c.at),
        statusChanges.map((c) => String(c.customerVersion)),
      ]);
    }
    return { views, statusChanges, written: writes.length };
  }

  private async applyRecords(em: EntityManager, changes: PreparedChange[]): Promise<RecordOutcome[]> {
    if (changes.length === 0) return [];
    return em.query(APPLY_RECORDS_SQL, [JSON.stringify(changes.map(recordRow))]);
  }
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
  };
}

/** The distinct positions of a batch's records, per system, as LOAD_NEW_TRUNCATED_SQL reads them. */
function distinctPositions(changes: readonly PreparedChange[]) {
  const out: Array<{ system: string; position_kind: string; position_key: string; source_ts: string | null }> = [];
  const seen = new Map<SourcePosition, Set<string>>();
  for (const c of changes) {
    const p = c.position;
    const systems = seen.get(p) ?? new Set<string>();
    if (systems.has(c.system)) continue;
    seen.set(p, systems.add(c.system));
    out.push({ system: c.system, position_kind: p.kind, position_key: p.key, source_ts: p.tsMs === null ? null : new Date(p.tsMs).toISOString() });
  }
  return out;
}

/** A batch for the initial load: the newest change of each record, grouped by customer. */
interface LoadBatch {
  changes: PreparedChange[];
  byCustomer: Map<string, PreparedChange[]>;
  /** Sorted, and as JSON for LOCK_CUSTOMERS_SQL and KNOWN_CUSTOMERS_SQL. */
  ids: string[];
  idList: string;
  stale: number;
}

function loadBatch(items: readonly PreparedChange[]): LoadBatch {
  const changes = newestPerRecord([...items], false);
  const byCustomer = new Map<string, PreparedChange[]>();
  for (const c of changes) {
    if (c.customerId === null) continue;
    const list = byCustomer.get(c.customerId);
    if (list) list.push(c);
    else byCustomer.set(c.customerId, [c]);
  }
  const ids = [...byCustomer.keys()].sort();
  return { changes, byCustomer, ids, idList: JSON.stringify(ids), stale: items.length - changes.length };
}

/**
 * What `loadNew` writes, in COPY's text format: customers, records, and their first history entry
 * and outbox message. Written out before the transaction, which then holds its locks only
 * through its statements.
 */
interface InitialLoad {
  statuses: string[];
  reasons: string[];
  /** The distinct positions, as LOAD_NEW_TRUNCATED_SQL reads them (JSON). */
  positions: string;
  customers: CopyText;
  records: CopyText;
  /** The first history entry and outbox message of each customer (its version 1). */
  entries: CopyText;
}

/** Resolves each customer from the batch's own records with the rule set that mapped them, and writes the rows out. */
function initialLoad(batch: LoadBatch, rules: ActiveRules): InitialLoad {
  const decide = decider(rules.compiled);
  const version = String(rules.version);
  const load: InitialLoad = {
    statuses: [],
    reasons: [],
    positions: JSON.stringify(distinctPositions(batch.changes)),
    customers: new CopyText(),
    records: new CopyText(),
    entries: new CopyText(),
  };
  for (const id of batch.ids) {
    const { status, reason } = decide(batch.byCustomer.get(id) ?? []);
    load.statuses.push(status);
    load.reasons.push(reason);
    const i = copyValue(id);
    const st = copyValue(status);
    const re = copyValue(reason);
    load.customers.row([i, st, re, '1', 't', version]);
    load.entries.row([i, '\\N', st, re, version, '1']);
  }
  // A batch's records share their position: its time is written out once.
  const sourceTs = isoTimestamps();
  for (const c of batch.changes) {
    const p = c.position;
    load.records.row([
      copyValue(c.system), copyValue(c.recordKey), copyValue(c.customerId), copyValue(JSON.stringify(c.raw)),
      copyValue(c.status), copyValue(c.rule), copyValue(c.unmapped?.field ?? null), copyValue(c.unmapped?.value ?? null),
      copyValue(p.kind), copyValue(p.key), copyValue(p.text), sourceTs(p.tsMs), 'f',
    ]);
  }
  return load;
}

type Segment = { kind: 'changes'; changes: PreparedChange[] } | { kind: 'truncate'; truncate: PreparedTruncate };

/** Splits a batch at truncates, which must apply in order with the changes around them. */
function segments(items: readonly PreparedItem[]): Segment[] {
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

/** Takes LOCK_SYSTEMS_SQL's locks for a batch: exclusive for the systems it truncates, shared for the others. */
async function lockSystems(em: EntityManager, items: readonly PreparedItem[]): Promise<void> {
  const exclusive = new Map<string, boolean>();
  for (const item of items) {
    if (item.kind === 'truncate') exclusive.set(item.truncate.system, true);
    else if (!exclusive.has(item.change.system)) exclusive.set(item.change.system, false);
  }
  if (exclusive.size === 0) return;
  await em.query(LOCK_SYSTEMS_SQL, [JSON.stringify([...exclusive].map(([system, x]) => ({ system, exclusive: x })))]);
}

function recordId(system: string, recordKey: string): string {
  return `${system}\u0000${recordKey}`;
}

/**
 * One row per record: PostgreSQL cannot update a row twice in one statement, and only the newest
 * counts. `sorted`: in key order, so that two batches committing at once lock the records they
 * share in the same order (the general path's upsert); the initial load inserts and locks nothing
 * of the records'.
 */
function newestPerRecord(changes: PreparedChange[], sorted = true): PreparedChange[] {
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

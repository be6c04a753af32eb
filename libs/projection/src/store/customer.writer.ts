import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { StatusChange } from '../customer-view.model';
import { ActiveRules } from '../rules/active-rule-set';
import { CustomerResolution, decider } from './customer-resolution';
import { buildView, CUSTOMERS_SQL, CustomerRow, groupByCustomer, LIVE_RECORDS_SQL, LiveRecordRow } from './customer-view.builder';
import { recordId } from './record.writer';
import { CacheEntry, storedUnmapped } from './store.model';
import { clientOf, runScript, Statement } from './sql-script';

// Sorted so that concurrent writers (live events, backfill, reprojection) take them in one order.
// The ids come as a JSON array (JSON.stringify is native; the driver builds a text[] literal
// element by element, which cost the backfill about 0.5 KB of garbage per customer).
export const LOCK_CUSTOMERS_SQL = `
SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(id, 7316) AS h FROM json_array_elements_text($1::json) id ORDER BY 1) s`;

// Rows as JSON documents (one native JSON.stringify each, where array parameters cost an escape
// per element), read by jsonb_to_recordset with the columns' types.
const REMAP_SQL = `
UPDATE source_record s SET status = u.status, rule = u.rule, unmapped_field = u.unmapped_field, unmapped_value = u.unmapped_value
FROM jsonb_to_recordset($1::jsonb) AS u(system text, record_key text, status text, rule text, unmapped_field text, unmapped_value text)
WHERE s.system = u.system AND s.record_key = u.record_key`;

const WRITE_CUSTOMERS_SQL = `
WITH c AS (
  INSERT INTO customer (id, status, reason, status_since, updated_at, version, live, rule_set_version)
  SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS t(id text, status text, reason text, status_since timestamptz, updated_at timestamptz, version bigint, live boolean, rule_set_version int)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, reason = excluded.reason, status_since = excluded.status_since,
    updated_at = excluded.updated_at, version = excluded.version, live = excluded.live, rule_set_version = excluded.rule_set_version
  RETURNING 1
), changes AS (
  SELECT "customerId", "from", "to", reason, "ruleSetVersion", at, "customerVersion", coalesce(removed, false) AS removed FROM jsonb_to_recordset($2::jsonb)
    AS t("customerId" text, "from" text, "to" text, reason text, "ruleSetVersion" int, at timestamptz, "customerVersion" bigint, removed boolean)
), h AS (
  -- A removal is not a status change: published, not kept in the history.
  INSERT INTO status_history (customer_id, from_status, to_status, reason, rule_set_version, at, customer_version)
  SELECT "customerId", "from", "to", reason, "ruleSetVersion", at, "customerVersion" FROM changes WHERE NOT removed RETURNING 1
), o AS (
  -- The transactional outbox: a change is published only if it committed, and none committed is lost.
  INSERT INTO status_outbox (customer_id, from_status, to_status, reason, rule_set_version, at, customer_version, removed) SELECT * FROM changes RETURNING 1
)
SELECT (SELECT count(*) FROM c) AS customers, (SELECT count(*) FROM h) AS history, (SELECT count(*) FROM o) AS outbox`;

export interface Resolved {
  views: CacheEntry[];
  statusChanges: StatusChange[];
  written: number;
}

/**
 * The customers' side of every write: customers locked (sorted), their live records mapped again
 * with the transaction's one rule set, resolved, and the rows, history and outbox messages of
 * those whose view changed written in one statement. As statements, so that a caller can send
 * them with others (see sql-script): `reads` (the locks, then the records and the customers, each
 * statement after the locks with a snapshot of its own), then `decide` on their rows, which gives
 * the `writes`.
 */
@Injectable()
export class CustomerWriter {
  constructor(private readonly resolution: CustomerResolution) {}

  /** The statements that lock `ids` (sorted in place) and read them; none for no ids. */
  reads(ids: string[]): Statement[] {
    if (ids.length === 0) return [];
    ids.sort();
    return [
      { sql: LOCK_CUSTOMERS_SQL, params: [JSON.stringify(ids)] },
      { sql: LIVE_RECORDS_SQL, params: [ids] },
      { sql: CUSTOMERS_SQL, params: [ids] },
    ];
  }

  /**
   * Re-resolves customers under `rules` from the rows of their `reads`; only those whose view
   * changed get a new version. The views returned are every customer's (to be cached again), or
   * with `writtenOnly` only those written: a reprojection leaves the others' views as they are,
   * so it neither builds nor caches them (most of a publish's customers do not change).
   */
  decide(
    ids: readonly string[],
    rows: readonly unknown[][],
    changed: ReadonlySet<string>,
    rules: ActiveRules,
    now: Date,
    fresh: ReadonlySet<string> = new Set(),
    writtenOnly = false,
  ): Resolved & { writes: Statement[] } {
    const views: CacheEntry[] = [];
    const statusChanges: StatusChange[] = [];
    if (ids.length === 0) return { views, statusChanges, written: 0, writes: [] };
    const records = groupByCustomer(rows[1] as LiveRecordRow[]);
    const existing = new Map((rows[2] as CustomerRow[]).map((c) => [c.id, c]));

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
          if (before.live) {
            writes.push(gone);
            // Published so that subscribers and the broker's consumers learn it is gone.
            statusChanges.push({
              customerId: id,
              from: before.status,
              to: before.status,
              reason: before.reason,
              // The version that decided the status it last had.
              ruleSetVersion: before.rule_set_version,
              at: now.toISOString(),
              customerVersion: Number(gone.version),
              removed: true,
            });
          }
          if (before.live || !writtenOnly) views.push({ id, version: Number(gone.version), view: null });
        }
        continue;
      }
      const decided = decide(recs);
      const wasLive = before?.live === true;
      const statusChanged = !wasLive || before.status !== decided.status;
      const reasonChanged = !wasLive || before.reason !== decided.reason;
      let row: CustomerRow;
      if (before && !statusChanged && !reasonChanged && !changed.has(id) && !mappingChanged) {
        if (writtenOnly) continue;
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
    const statements: Statement[] = [];
    if (remapped.length > 0) {
      const rows = remapped.map((r, i) => ({
        system: r.system,
        record_key: r.record_key,
        status: r.status,
        rule: r.rule,
        unmapped_field: remappedUnmapped[i]?.field ?? null,
        unmapped_value: remappedUnmapped[i]?.value ?? null,
      }));
      statements.push({ sql: REMAP_SQL, params: [JSON.stringify(rows)] });
    }
    if (writes.length > 0 || statusChanges.length > 0) {
      // A customer row's columns and a StatusChange's fields, as the statement's recordsets name them.
      statements.push({ sql: WRITE_CUSTOMERS_SQL, params: [JSON.stringify(writes.map((w) => ({ ...w, version: Number(w.version) }))), JSON.stringify(statusChanges)] });
    }
    return { views, statusChanges, written: writes.length, writes: statements };
  }

  /** `reads`, `decide` and its `writes` in the transaction of `em`: two round trips. */
  async resolve(
    em: EntityManager,
    ids: string[],
    changed: ReadonlySet<string>,
    rules: ActiveRules,
    now: Date,
    fresh: ReadonlySet<string> = new Set(),
    writtenOnly = false,
  ): Promise<Resolved> {
    const client = await clientOf(em);
    const reads = this.reads(ids);
    const rows = await runScript(client, reads);
    const { writes, ...resolved } = this.decide(ids, rows, changed, rules, now, fresh, writtenOnly);
    await runScript(client, writes);
    return resolved;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { SourcePosition } from '@app/change-events';
import { StatusChange } from '../customer-view.model';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';
import { ActiveRules } from '../rules/active-rule-set';
import { copyIn, CopyText, copyValue, isoTimestamps } from './copy-in';
import { LOCK_CUSTOMERS_SQL } from './customer.writer';
import { decider } from './customer-resolution';
import { lockSystems, newer, newestPerRecord } from './record.writer';
import { KnownCustomers, PreparedChange, StoreResult } from './store.model';

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

/** The backfill's initial load: pages of records and customers the view does not know yet, written with COPY. */
@Injectable()
export class InitialLoadWriter {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

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
  async load(
    items: readonly PreparedChange[],
    mappedWith: ActiveRules,
    rulesFor: (em: EntityManager) => Promise<ActiveRules>,
  ): Promise<(StoreResult & { ruleSetVersion: number }) | KnownCustomers | null> {
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
      const rules = await rulesFor(em);
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
      return { applied, stale, views: [], statusChanges, written: ids.length, ruleSetVersion: rules.version };
    });
  }
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

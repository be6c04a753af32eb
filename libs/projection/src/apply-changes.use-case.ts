import { Injectable } from '@nestjs/common';
import { ChangeEvent, TruncateEvent } from '@app/cdc';
import { RuleEvaluationError } from '@app/rules';
import { CustomerCache } from './cache/customer.cache';
import { StatusChangeView } from './customer-view.model';
import { isTransient, ProjectionError } from './projection.errors';
import { ActiveRuleSet } from './rules/active-rule-set';
import { StatusOutboxRelay } from './outbox/status-outbox.relay';
import { PreparedChange, PreparedItem, ProjectionStore } from './store/projection.store';

export interface Rejected {
  /** Index of the event in the batch given to `execute`. */
  index: number;
  error: ProjectionError;
}

export interface ApplyOutcome {
  applied: number;
  stale: number;
  rejected: Rejected[];
  customersTouched: number;
  statusChanges: StatusChangeView[];
  ruleSetVersion: number;
}

/**
 * The one projection path: maps each change with the active rule set, commits the batch to
 * PostgreSQL, then refreshes Redis. The consumer, the backfill and the rules publisher all use it.
 * Throws (nothing committed, or committed but not cached) on a store or cache outage: the caller
 * retries the whole batch, which is safe because applying an event twice changes nothing.
 */
@Injectable()
export class ApplyChangesUseCase {
  constructor(
    private readonly store: ProjectionStore,
    private readonly cache: CustomerCache,
    private readonly rules: ActiveRuleSet,
    private readonly outbox: StatusOutboxRelay,
  ) {}

  /**
   * `initialLoad` (the backfill): when none of the batch's records and customers is known yet,
   * take the store's one-statement path (`ProjectionStore.loadNew`); otherwise, or when anything
   * is, the general one. The result is the same either way, except that new customers are cached
   * on their first read.
   */
  /**
   * A live event that stored one of the batch's records after the check (between the check and
   * the insert) makes the insert fail on the key, with nothing written: the general path then
   * takes the batch, in a transaction of its own.
   */
  private async loadNew(changes: PreparedChange[], mappedWith: number) {
    try {
      return await this.store.loadNew(changes, mappedWith);
    } catch (e) {
      if (isUniqueViolation(e)) return null;
      throw e;
    }
  }

  async execute(events: ReadonlyArray<ChangeEvent | TruncateEvent>, now = Date.now(), options: { initialLoad?: boolean } = {}): Promise<ApplyOutcome> {
    const active = this.rules.current();
    const { compiled } = active;
    const items: PreparedItem[] = [];
    const rejected: Rejected[] = [];
    const touched = new Set<string>();
    events.forEach((event, index) => {
      if (event.kind === 'truncate') {
        items.push({ kind: 'truncate', truncate: { system: event.system, position: event.position } });
        return;
      }
      if (event.customerId) touched.add(event.customerId);
      if (event.deleted) {
        items.push({ kind: 'change', change: { ...base(event), status: null, rule: null, unmapped: null } });
        return;
      }
      try {
        const mapped = compiled.map(event.system, event.row, now);
        items.push({ kind: 'change', change: { ...base(event), status: mapped.status, rule: mapped.rule, unmapped: mapped.unmapped ?? null } });
      } catch (e) {
        if (!(e instanceof RuleEvaluationError)) throw e;
        rejected.push({ index, error: new ProjectionError('UNMAPPABLE', `cannot be mapped: ${e.message}`, e) });
      }
    });

    let result;
    try {
      const changes = options.initialLoad && items.every((i) => i.kind === 'change') ? items.map((i) => (i as { change: PreparedChange }).change) : null;
      result = (changes && (await this.loadNew(changes, active.version))) ?? (await this.store.apply(items, [...touched], active.version));
    } catch (e) {
      // Anything else (a value PostgreSQL refuses) is the batch's own problem: the caller isolates it.
      if (isTransient(e)) throw new ProjectionError('STORE_UNAVAILABLE', `PostgreSQL: ${(e as Error).message}`, e);
      throw e;
    }
    if (result.statusChanges.length > 0) this.outbox.kick();
    try {
      await this.cache.write(result.views);
    } catch (e) {
      throw new ProjectionError('CACHE_UNAVAILABLE', `Redis: ${(e as Error).message}`, e);
    }
    return {
      applied: result.applied,
      stale: result.stale,
      rejected,
      customersTouched: result.views.length,
      statusChanges: result.statusChanges,
      ruleSetVersion: result.ruleSetVersion,
    };
  }
}

/** PostgreSQL's unique_violation, also when TypeORM wraps the driver's error. */
function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown; driverError?: { code?: unknown } } | null;
  return err?.code === '23505' || err?.driverError?.code === '23505';
}

function base(e: ChangeEvent) {
  return { system: e.system, recordKey: e.recordKey, customerId: e.customerId, deleted: e.deleted, raw: e.raw, position: e.position };
}

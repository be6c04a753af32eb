import { Injectable } from '@nestjs/common';
import { ChangeEvent, SourceCheckpoint, TruncateEvent } from '@app/change-events';
import { RuleEvaluationError } from '@app/rules';
import { CustomerCache } from './cache/customer.cache';
import { StatusChange } from './customer-view.model';
import { isTransient, ProjectionError } from './projection.errors';
import { ActiveRuleSet } from './rules/active-rule-set';
import { StatusOutboxRelay } from './outbox/status-outbox.relay';
import { SourceCheckpointStore } from './checkpoints/source-checkpoint.store';
import { KnownCustomers, PreparedChange, PreparedItem, ProjectionStore, StoreResult, storedUnmapped } from './store/projection.store';

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
  /** Customers written with a new version (their view changed). */
  customersWritten: number;
  statusChanges: StatusChange[];
  ruleSetVersion: number;
}

/**
 * The one projection path: maps each change with the active rule set, commits the batch to
 * PostgreSQL, then refreshes Redis. The consumer, the backfill and the rules publisher all use it.
 * Throws (nothing committed, or committed but not cached) on a store or cache outage: the caller
 * retries the whole batch, which is safe because applying an event twice changes nothing. A full
 * Redis that refuses writes (OOM) is not an outage: the batch's entries are dropped from Redis
 * instead (see CustomerCache.write), reads take them from PostgreSQL, and ingestion goes on.
 */
@Injectable()
export class ApplyChangesUseCase {
  constructor(
    private readonly store: ProjectionStore,
    private readonly cache: CustomerCache,
    private readonly rules: ActiveRuleSet,
    private readonly outbox: StatusOutboxRelay,
    private readonly checkpoints: SourceCheckpointStore,
  ) {}

  /** `checkpoint`: how far a source is once this batch is committed, written in its transaction. */
  async execute(events: ReadonlyArray<ChangeEvent | TruncateEvent>, now = Date.now(), checkpoint?: SourceCheckpoint): Promise<ApplyOutcome> {
    const { items, rejected, touched, version } = this.prepare(events, now);
    const result = await this.stored(() => this.store.apply(items, touched, version, checkpoint));
    return this.finish(result, rejected);
  }

  /**
   * The initial load (the backfill): when none of the batch's records and customers is known yet,
   * the store's COPY path (`ProjectionStore.loadNew`) takes it; the result is the same as
   * `execute`'s, except that the new customers are cached on their first read. Returns the known
   * customers when there are any, and null for any other reason the batch cannot take that path (a
   * deletion, a truncate newer than a record, a rule set published meanwhile, or a customer or
   * record stored meanwhile, which makes the COPY fail on its key), with nothing written: the
   * caller then uses `execute`, for the known customers' changes at least.
   */
  async executeInitialLoad(events: readonly ChangeEvent[], now = Date.now()): Promise<ApplyOutcome | KnownCustomers | null> {
    const { items, rejected, rules } = this.prepare(events, now);
    const changes = items.map((i) => (i as { change: PreparedChange }).change);
    const result = await this.stored(async () => {
      try {
        return await this.store.loadNew(changes, rules);
      } catch (e) {
        if (isUniqueViolation(e)) return null;
        throw e;
      }
    });
    if (result === null || 'known' in result) return result;
    return this.finish(result, rejected);
  }

  /** A source's checkpoint alone: for a batch that held no change to project. */
  async checkpoint(checkpoint: SourceCheckpoint): Promise<void> {
    await this.stored(() => this.checkpoints.save(checkpoint));
  }

  /** Resolves these customers again from what is stored, with new versions, and caches them (`verify --repair`). */
  async resolveAgain(ids: readonly string[]): Promise<ApplyOutcome> {
    const result = await this.stored(() => this.store.resolveAgain(ids));
    return this.finish(result, []);
  }

  /**
   * Reprojection's batch: the customers resolved again under rule set `version` (only those whose
   * view changes are written), through the same commit, cache write and outbox kick as a batch of
   * changes. Null when another version is active by now: the job is superseded.
   */
  async reproject(ids: readonly string[], version: number): Promise<ApplyOutcome | null> {
    const result = await this.stored(() => this.store.reproject(ids, version));
    return result === null ? null : this.finish(result, []);
  }

  /** Maps each change with the active rule set; a change the rules cannot map is rejected alone. */
  private prepare(events: ReadonlyArray<ChangeEvent | TruncateEvent>, now: number) {
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
        items.push({ kind: 'change', change: prepared(event, null, null, null) });
        return;
      }
      try {
        const mapped = compiled.map(event.system, event.row, now);
        items.push({ kind: 'change', change: prepared(event, mapped.status, mapped.rule, storedUnmapped(mapped.unmapped)) });
      } catch (e) {
        if (!(e instanceof RuleEvaluationError)) throw e;
        rejected.push({ index, error: new ProjectionError('UNMAPPABLE', `cannot be mapped: ${e.message}`, e) });
      }
    });
    return { items, rejected, touched: [...touched], version: active.version, rules: active };
  }

  /** A store outage is STORE_UNAVAILABLE; anything else (a value PostgreSQL refuses) is the batch's own problem: the caller isolates it. */
  private async stored<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (isTransient(e)) throw new ProjectionError('STORE_UNAVAILABLE', `PostgreSQL: ${(e as Error).message}`, e);
      throw e;
    }
  }

  private async finish(result: StoreResult & { ruleSetVersion: number }, rejected: Rejected[]): Promise<ApplyOutcome> {
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
      customersWritten: result.written,
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

function prepared(e: ChangeEvent, status: string | null, rule: string | null, unmapped: PreparedChange['unmapped']): PreparedChange {
  return { system: e.system, recordKey: e.recordKey, customerId: e.customerId, deleted: e.deleted, raw: e.raw, status, rule, unmapped, position: e.position, unchanged: e.unchanged?.length ? e.unchanged : null };
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { SourceCheckpoint } from '@app/change-events';
import { SourceCheckpointStore } from '../checkpoints/source-checkpoint.store';
import { ACTIVE_RULE_SET_FOR_SHARE_SQL, RuleSetRepository } from '../rules/rule-set.repository';
import { ActiveRuleSet, ActiveRules } from '../rules/active-rule-set';
import { CustomerWriter } from './customer.writer';
import { InitialLoadWriter } from './initial-load.writer';
import { applyRecordsStatement, lockSystemsStatement, newestPerRecord, RecordOutcome, recordId, segments, truncatedCustomers, truncateStatement } from './record.writer';
import { ScriptTransaction, Statement } from './sql-script';
import { KnownCustomers, PreparedChange, PreparedItem, StoreResult } from './store.model';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

export * from './store.model';

/**
 * PostgreSQL side of the projection: every write of source records, customers, history and the
 * outbox goes through here, each in one transaction: a batch of changes (the records' side in
 * record.writer, the customers' in CustomerWriter), the initial load (InitialLoadWriter), a
 * reprojection's batch, verify's repair.
 */
@Injectable()
export class ProjectionStore {
  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    private readonly activeRules: ActiveRuleSet,
    private readonly ruleSets: RuleSetRepository,
    private readonly customers: CustomerWriter,
    private readonly initialLoad: InitialLoadWriter,
    private readonly checkpoints: SourceCheckpointStore,
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
   * Applies a batch in one transaction of three round trips, whatever its size (sql-script): the
   * system locks, the rule set and the records' writes; the customers' locks and reads; their
   * writes, the checkpoint and the commit. `touched` customers are re-read even when nothing of
   * theirs changed, so that the cache can be refreshed after a crash between a commit and the
   * cache write. A source's `checkpoint` is written in the same transaction: it is committed
   * exactly when the batch is.
   */
  async apply(
    items: readonly PreparedItem[],
    touched: readonly string[] = [],
    mappedWith: number | null = null,
    checkpoint?: SourceCheckpoint,
  ): Promise<StoreResult & { ruleSetVersion: number }> {
    const now = new Date();
    return ScriptTransaction.within(this.db, async (tx) => {
      const parts = segments(items).map((segment) =>
        segment.kind === 'truncate' ? { segment, changes: [] } : { segment, changes: newestPerRecord(segment.changes) },
      );
      const lock = lockSystemsStatement(items);
      const opening: Statement[] = [
        ...(lock ? [lock] : []),
        // Read FOR SHARE after the system locks, as rulesFor does.
        { sql: ACTIVE_RULE_SET_FOR_SHARE_SQL, params: [] },
        ...parts.map(({ segment, changes }) => (segment.kind === 'truncate' ? truncateStatement(segment.truncate) : applyRecordsStatement(changes))),
      ];
      const results = (await tx.run(opening)).slice(lock ? 1 : 0);
      const active = results[0] as { version: number }[];
      if (active.length === 0) throw new Error('no active rule set: the database was not seeded');
      const rules = await this.activeRules.ensure(active[0].version);
      let applied = 0;
      let stale = 0;
      const changed = new Set<string>();
      const affected = new Set<string>(touched);
      // Records this batch wrote, mapped with the rule set of this transaction: not mapped again.
      const fresh = new Set<string>();
      const sameRules = mappedWith === rules.version;
      parts.forEach(({ segment, changes }, k) => {
        const rows = results[k + 1];
        if (segment.kind === 'truncate') {
          applied += 1;
          for (const id of truncatedCustomers(rows)) changed.add(id);
          return;
        }
        stale += segment.changes.length - changes.length;
        (rows as RecordOutcome[]).forEach((o, i) => {
          if (o.applied) {
            // Every customer that gained or lost the record is resolved again, under its lock.
            applied += 1;
            // A change that left columns out was mapped without them: mapped again from the stored record.
            if (sameRules && !changes[i].deleted && !changes[i].unchanged) fresh.add(recordId(changes[i].system, changes[i].recordKey));
            if (o.left_customer) changed.add(o.left_customer);
            if (o.new_customer) changed.add(o.new_customer);
          } else {
            // Nothing changed; the views are cached again (a crash may have come between a commit and its cache write).
            stale += 1;
            if (o.stored_customer) affected.add(o.stored_customer);
            if (changes[i].customerId) affected.add(changes[i].customerId);
          }
        });
      });
      for (const id of changed) affected.add(id);
      const ids = [...affected];
      const reads = this.customers.reads(ids);
      const rows = reads.length > 0 ? await tx.run(reads) : [];
      const { writes, ...result } = this.customers.decide(ids, rows, changed, rules, now, fresh);
      await tx.commit(checkpoint ? [...writes, this.checkpoints.statement(checkpoint)] : writes);
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
  loadNew(items: readonly PreparedChange[], mappedWith: ActiveRules): Promise<(StoreResult & { ruleSetVersion: number }) | KnownCustomers | null> {
    return this.initialLoad.load(items, mappedWith, (em) => this.rulesFor(em));
  }

  /**
   * Resolves customers again from their stored records under the active rule set, each live one
   * with a new version, so that it replaces whatever the cache holds: the repair of `verify`.
   */
  async resolveAgain(ids: readonly string[], now = new Date()): Promise<StoreResult & { ruleSetVersion: number }> {
    return this.db.transaction(async (em) => {
      const rules = await this.rulesFor(em);
      const result = await this.customers.resolve(em, [...ids], new Set(ids), rules, now);
      return { applied: 0, stale: 0, views: result.views, statusChanges: result.statusChanges, written: result.written, ruleSetVersion: rules.version };
    });
  }

  /**
   * Reprojection: customers resolved again under rule set `version`, each written (and its view
   * returned for the cache) only when its view changes. Null, with nothing written, when another version is active by now (a newer
   * publish superseded the job).
   */
  async reproject(ids: readonly string[], version: number, now = new Date()): Promise<(StoreResult & { ruleSetVersion: number }) | null> {
    return this.db.transaction(async (em) => {
      const rules = await this.rulesFor(em);
      if (rules.version !== version) return null;
      const result = await this.customers.resolve(em, [...ids], new Set(), rules, now, undefined, true);
      return { applied: 0, stale: 0, views: result.views, statusChanges: result.statusChanges, written: result.written, ruleSetVersion: rules.version };
    });
  }
}

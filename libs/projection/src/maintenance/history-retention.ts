import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { backgroundFailed, backgroundSucceeded, historyRowsRemoved } from '@app/observability';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

/** One instance trims at a time (the others skip the round). */
const RETENTION_LOCK = 7317002;

export interface TrimResult {
  removed: number;
  /** The newest change removed so far (over every run), or null when nothing ever was. */
  trimmedUntil: Date | null;
}

/**
 * History retention: status changes older than HISTORY_KEEP_DAYS are removed in the background,
 * in short transactions of HISTORY_RETENTION_BATCH ids each, oldest first, so that no lock is held
 * for long and ingestion is never waited on. History ids grow with commit time, so the old rows
 * are the first ids: each batch deletes one range of ids and the round stops at the first range
 * that holds a change to keep (no scan of the kept history). With HISTORY_KEEP_CHANGES, a second
 * pass walks the customers in key order, HISTORY_RETENTION_BATCH a transaction, and removes each
 * one's changes beyond its newest N (found through the (customer_id, id DESC) index: N + 1 index
 * entries read per customer). `history_retention` keeps how far it went, for GraphQL's
 * `historyTrimmedUntil`.
 */
@Injectable()
export class HistoryRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('history-retention');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.env.history.keepDays === 0 && this.env.history.keepChanges === 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.trim()
        .then(() => backgroundSucceeded('history-retention'))
        .catch((e: unknown) => backgroundFailed('history-retention', e, 'old status changes not removed; retrying at the next round'))
        .finally(() => (this.running = null));
    }, this.env.history.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /**
   * One round: removes every change older than `keepDays`, then each customer's changes beyond its
   * newest `keepChanges` (defaults: the configured settings; 0 turns either off), batch by batch.
   */
  async trim(keepDays = this.env.history.keepDays, keepChanges = this.env.history.keepChanges): Promise<TrimResult> {
    let removed = 0;
    if (keepDays > 0) {
      const cutoff = new Date(Date.now() - keepDays * 86_400_000);
      let old = 0;
      for (;;) {
        const batch = await this.trimBatch(cutoff);
        old += batch.removed;
        if (batch.done) break;
      }
      if (old > 0) this.logger.log(`removed ${old} status changes older than ${keepDays} days`);
      removed += old;
    }
    if (keepChanges > 0) {
      let beyond = 0;
      for (let after: string | null = ''; after !== null; ) {
        const batch = await this.capBatch(after, keepChanges);
        beyond += batch.removed;
        after = batch.last;
      }
      if (beyond > 0) this.logger.log(`removed ${beyond} status changes beyond the newest ${keepChanges} of their customer`);
      removed += beyond;
    }
    return { removed, trimmedUntil: await this.trimmedUntil() };
  }

  /** How far retention has removed history: the newest change removed, or null. */
  async trimmedUntil(): Promise<Date | null> {
    const rows: Array<{ trimmed_until: Date }> = await this.db.query('SELECT trimmed_until FROM history_retention');
    return rows[0]?.trimmed_until ?? null;
  }

  private async trimBatch(cutoff: Date): Promise<{ removed: number; done: boolean }> {
    return this.db.transaction(async (em) => {
      const [{ locked }]: Array<{ locked: boolean }> = await em.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [RETENTION_LOCK]);
      if (!locked) return { removed: 0, done: true };
      const [{ first }]: Array<{ first: string | null }> = await em.query('SELECT min(id)::text AS first FROM status_history');
      if (first === null) return { removed: 0, done: true };
      const [r]: Array<{ removed: number; last: Date | null; kept: boolean }> = await em.query(
        `WITH gone AS (
           DELETE FROM status_history WHERE id >= $1::bigint AND id < $1::bigint + $2 AND at < $3 RETURNING at
         )
         SELECT (SELECT count(*)::int FROM gone) AS removed, (SELECT max(at) FROM gone) AS last,
                EXISTS (SELECT 1 FROM status_history WHERE id >= $1::bigint AND id < $1::bigint + $2 AND at >= $3) AS kept`,
        [first, this.env.history.batchSize, cutoff],
      );
      await this.recordRemoved(em, r.removed, r.last);
      // A range that held a change to keep is where the old history ends.
      return { removed: r.removed, done: r.kept || r.removed === 0 };
    });
  }

  /** The customers after `after` in key order, one batch: changes beyond each one's newest `keep` removed. `last`: where the next batch starts, null at the end. */
  private async capBatch(after: string, keep: number): Promise<{ removed: number; last: string | null }> {
    return this.db.transaction(async (em) => {
      const [{ locked }]: Array<{ locked: boolean }> = await em.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [RETENTION_LOCK]);
      if (!locked) return { removed: 0, last: null };
      const [r]: Array<{ last_id: string | null; removed: number; last: Date | null }> = await em.query(
        `WITH c AS (
           SELECT id FROM customer WHERE id > $1 ORDER BY id LIMIT $2
         ), gone AS (
           DELETE FROM status_history h
           USING (SELECT x.id FROM c CROSS JOIN LATERAL (
                    SELECT id FROM status_history WHERE customer_id = c.id ORDER BY id DESC OFFSET $3) x) d
           WHERE h.id = d.id
           RETURNING h.at
         )
         SELECT (SELECT max(id) FROM c) AS last_id, (SELECT count(*)::int FROM gone) AS removed, (SELECT max(at) FROM gone) AS last`,
        [after, this.env.history.batchSize, keep],
      );
      await this.recordRemoved(em, r.removed, r.last);
      return { removed: r.removed, last: r.last_id };
    });
  }

  private async recordRemoved(em: EntityManager, removed: number, last: Date | null): Promise<void> {
    if (removed === 0) return;
    await em.query(
      `INSERT INTO history_retention (trimmed_until, removed) VALUES ($1, $2)
       ON CONFLICT (one) DO UPDATE SET trimmed_until = greatest(history_retention.trimmed_until, excluded.trimmed_until), removed = history_retention.removed + excluded.removed`,
      [last, removed],
    );
    historyRowsRemoved.inc(removed);
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { backgroundFailed } from '@app/observability';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';
import { ApplyChangesUseCase } from '../apply-changes.use-case';
import { isTransient } from '../projection.errors';

export type ReprojectionState = 'running' | 'done' | 'failed' | 'superseded';

export interface ReprojectionProgress {
  id: string;
  version: number;
  state: ReprojectionState;
  total: number;
  processed: number;
  changed: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface ReprojectionRow {
  id: string;
  version: number;
  state: ReprojectionState;
  total: string;
  processed: string;
  changed: string;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

const BATCH = 1000;
/**
 * A batch that fails for a reason that passes (a deadlock with a live batch, a connection lost) is
 * tried again this many times, waiting 100 ms, 200 ms, … up to 5 s between tries (~20 s in all),
 * before the job is marked failed. A deadlock is expected: a live batch locks its records and then
 * its customers, while a reprojection locks its customers and then maps their records again.
 */
const BATCH_TRIES = 8;
const STALE_MS = 30_000;

/**
 * Re-evaluates every customer under the active rule set after a publish or rollback, in batches,
 * through the same store code as change events. Each batch is one transaction under one version;
 * customers whose result does not change are not written. Progress lives in PostgreSQL.
 */
@Injectable()
export class ReprojectionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reprojection');
  private readonly running = new Map<string, Promise<void>>();
  private resumeTimer?: NodeJS.Timeout;

  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    private readonly applyChanges: ApplyChangesUseCase,
  ) {}

  /** Starts a job for `version` in the background and returns its progress row. */
  async start(version: number): Promise<ReprojectionProgress> {
    const [row]: ReprojectionRow[] = await this.db.query(
      `WITH s AS (UPDATE reprojection SET state = 'superseded', finished_at = now() WHERE state = 'running'),
            n AS (INSERT INTO reprojection (version, state, total) SELECT $1, 'running', count(*) FROM customer RETURNING *)
       SELECT * FROM n`,
      [version],
    );
    const job = this.run(row.id, version).catch((e: unknown) => this.failed(row.id, version, e));
    this.running.set(row.id, job);
    void job.finally(() => this.running.delete(row.id));
    return toProgress(row);
  }

  /** Resolves when the job (started by this instance) has ended; for tests and the CLI. */
  async wait(id: string): Promise<void> {
    await this.running.get(id);
  }

  /**
   * Stops a running job the way a newer publish does: it ends after its batch in flight, as
   * superseded. False when it was not running.
   */
  async supersede(id: string): Promise<boolean> {
    const rows: { id: string }[] = await this.db.query(
      `WITH u AS (UPDATE reprojection SET state = 'superseded', finished_at = now() WHERE id = $1 AND state = 'running' RETURNING id) SELECT id FROM u`,
      [id],
    );
    return rows.length > 0;
  }

  async progress(id?: string): Promise<ReprojectionProgress | null> {
    const rows: ReprojectionRow[] = id
      ? await this.db.query('SELECT * FROM reprojection WHERE id = $1', [id])
      : await this.db.query('SELECT * FROM reprojection ORDER BY id DESC LIMIT 1');
    return rows[0] ? toProgress(rows[0]) : null;
  }

  /**
   * Takes over a job whose instance died (no heartbeat for STALE_MS): it goes on from the last
   * committed batch. Called at start and every minute; the advisory lock keeps it to one taker.
   */
  async resumeAbandoned(): Promise<void> {
    const rows: Array<ReprojectionRow & { last_customer: string | null }> = await this.db.query(
      `SELECT * FROM reprojection WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1) ORDER BY id DESC LIMIT 1`,
      [STALE_MS / 1000],
    );
    const job = rows[0];
    if (!job || this.running.has(String(job.id))) return;
    const [{ locked }] = await this.db.query('SELECT pg_try_advisory_lock(7316003, $1::int) AS locked', [Number(job.id)]);
    if (!locked) return;
    this.logger.warn(`resuming reprojection ${job.id} to version ${job.version} after customer ${job.last_customer ?? '(start)'}`);
    const run = this.run(String(job.id), job.version, job.last_customer ?? '', Number(job.processed), Number(job.changed))
      .catch((e: unknown) => this.failed(String(job.id), job.version, e))
      .finally(() =>
        this.db
          .query('SELECT pg_advisory_unlock(7316003, $1::int)', [Number(job.id)])
          // A connection lost meanwhile released the session lock with it.
          .catch((e: unknown) => backgroundFailed('reprojection', e, `cannot release the lock of reprojection ${job.id}`)),
      );
    this.running.set(String(job.id), run.then(() => undefined));
  }

  onApplicationBootstrap(): void {
    const resume = () => void this.resumeAbandoned().catch((e: unknown) => backgroundFailed('reprojection', e, 'cannot look for an abandoned reprojection'));
    this.resumeTimer = setInterval(resume, 60_000);
    this.resumeTimer.unref();
    resume();
  }

  onApplicationShutdown(): void {
    if (this.resumeTimer) clearInterval(this.resumeTimer);
  }

  /** A job that failed: marked failed (its progress row says why), logged, counted, and shown in /health. */
  private async failed(id: string, version: number, e: unknown): Promise<void> {
    backgroundFailed('reprojection', e, `reprojection ${id} to version ${version} failed`);
    await this.db
      .query(`UPDATE reprojection SET state = 'failed', error = $2, finished_at = now() WHERE id = $1`, [id, (e as Error)?.message ?? String(e)])
      .catch((err: unknown) => backgroundFailed('reprojection', err, `cannot mark reprojection ${id} failed`));
  }

  private async run(id: string, version: number, from = '', processedBefore = 0, changedBefore = 0): Promise<void> {
    let after = from;
    let processed = processedBefore;
    let changed = changedBefore;
    for (;;) {
      const ids: string[] = (await this.db.query('SELECT id FROM customer WHERE id > $1 ORDER BY id LIMIT $2', [after, BATCH])).map(
        (r: { id: string }) => r.id,
      );
      if (ids.length === 0) break;
      const outcome = await this.reprojectBatch(ids, version);
      if (!outcome) {
        await this.db.query(`UPDATE reprojection SET state = 'superseded', finished_at = now() WHERE id = $1 AND state = 'running'`, [id]);
        return;
      }
      processed += ids.length;
      changed += outcome.customersWritten;
      after = ids[ids.length - 1];
      const [{ state }]: { state: ReprojectionState }[] = await this.db.query(
        `WITH u AS (UPDATE reprojection SET processed = $2, changed = $3, last_customer = $4, heartbeat_at = now() WHERE id = $1 RETURNING state)
         SELECT state FROM u`,
        [id, processed, changed, after],
      );
      if (state !== 'running') return;
    }
    await this.db.query(`UPDATE reprojection SET state = 'done', finished_at = now() WHERE id = $1 AND state = 'running'`, [id]);
    this.logger.log(`reprojection ${id} to version ${version} done: ${processed} customers, ${changed} changed`);
  }

  private async reprojectBatch(ids: string[], version: number): ReturnType<ApplyChangesUseCase['reproject']> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.applyChanges.reproject(ids, version);
      } catch (e) {
        if (!isTransient(e) || attempt >= BATCH_TRIES) throw e;
        const delay = Math.min(5000, 100 * 2 ** (attempt - 1));
        this.logger.warn(`reprojection to version ${version}: the batch from customer ${ids[0]} failed (${(e as Error).message}); try ${attempt + 1} of ${BATCH_TRIES} in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

function toProgress(r: ReprojectionRow): ReprojectionProgress {
  return {
    id: String(r.id),
    version: r.version,
    state: r.state,
    total: Number(r.total),
    processed: Number(r.processed),
    changed: Number(r.changed),
    error: r.error,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at ? r.finished_at.toISOString() : null,
  };
}

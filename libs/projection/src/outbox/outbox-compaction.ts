import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { outboxCompactions } from '@app/observability';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

/** One instance compacts at a time (the others skip). */
const COMPACT_LOCK = 7317004;
/** A backlog above this is not carried over: the relay is behind, and compacting would not shrink much. */
export const COMPACT_MAX_ROWS = 10_000;
/** A quiet, empty outbox is compacted once it holds more than this many bytes (eight pages). */
const QUIET_BYTES = 65_536;
/** How long compaction waits for the in-flight writers; the writers wait behind it as long. */
const LOCK_TIMEOUT_MS = 50;
const CHECK_EVERY_MS = 1000;

export type CompactionOutcome = 'compacted' | 'busy' | 'backlog' | 'small';

/**
 * Keeps `status_outbox` near its live size. It takes an insert and a delete per status change and
 * is nearly empty once relayed, so VACUUM can only make its dead rows' room reusable: between two
 * vacuums the table grows by every change written meanwhile (22 MB in the 30-minute soak at 3,000
 * events/s) and never shrinks. Compaction replaces the table's files instead: under an ACCESS
 * EXCLUSIVE lock held for a few milliseconds it keeps the rows not relayed yet (at most
 * COMPACT_MAX_ROWS, through one JSON value), TRUNCATEs the table and writes them back with their
 * ids. Writers wait for it (at most LOCK_TIMEOUT_MS for it to get the lock, then the copy); it
 * waits for no one longer than that and tries again at the next check.
 *
 * The relay calls `afterDrain()` once it has caught up; a check runs at most once a second and
 * compacts when the outbox takes OUTBOX_COMPACT_BYTES or more (heap and index), or when it is
 * empty, quiet (no change written since the last check) and above eight pages.
 */
@Injectable()
export class OutboxCompaction {
  private lastCheck = 0;
  private lastSeq: string | null = null;

  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  /** The relay has caught up: compact when it is time to. */
  async afterDrain(): Promise<CompactionOutcome | null> {
    const { compactBytes } = this.env.outbox;
    if (compactBytes === 0 || Date.now() - this.lastCheck < CHECK_EVERY_MS) return null;
    this.lastCheck = Date.now();
    const [s]: Array<{ bytes: string; rows: number; seq: string }> = await this.db.query(
      `SELECT pg_total_relation_size('status_outbox') AS bytes,
              (SELECT count(*)::int FROM (SELECT 1 FROM status_outbox LIMIT ${COMPACT_MAX_ROWS + 1}) r) AS rows,
              (SELECT last_value::text FROM status_outbox_id_seq) AS seq`,
    );
    const quiet = s.rows === 0 && s.seq === this.lastSeq && Number(s.bytes) > QUIET_BYTES;
    this.lastSeq = s.seq;
    if (s.rows > COMPACT_MAX_ROWS) return 'backlog';
    if (Number(s.bytes) < compactBytes && !quiet) return 'small';
    return this.compact();
  }

  /** Compacts now (unless another instance is, or a writer holds the table past the lock timeout). */
  async compact(): Promise<CompactionOutcome> {
    let outcome: CompactionOutcome;
    try {
      outcome = await this.db.transaction(async (em): Promise<CompactionOutcome> => {
        const [{ mine }]: Array<{ mine: boolean }> = await em.query('SELECT pg_try_advisory_xact_lock($1) AS mine', [COMPACT_LOCK]);
        if (!mine) return 'busy';
        await em.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT_MS}ms'`);
        await em.query('LOCK TABLE status_outbox IN ACCESS EXCLUSIVE MODE');
        const [{ n, keep }]: Array<{ n: number; keep: string | null }> = await em.query('SELECT count(*)::int AS n, json_agg(o)::text AS keep FROM status_outbox o');
        if (n > COMPACT_MAX_ROWS) return 'backlog';
        await em.query('TRUNCATE status_outbox');
        if (keep !== null) await em.query('INSERT INTO status_outbox SELECT * FROM json_populate_recordset(NULL::status_outbox, $1::json)', [keep]);
        return 'compacted';
      });
    } catch (e) {
      // lock_not_available: a writer or another relay held the table past the lock timeout.
      if ((e as { code?: string }).code !== '55P03') throw e;
      outcome = 'busy';
    }
    outboxCompactions.inc({ outcome });
    return outcome;
  }
}

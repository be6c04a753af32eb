import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { backgroundFailed, backgroundSucceeded, tablesVacuumed } from '@app/observability';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

/** One instance vacuums at a time (the others skip the round). */
const VACUUM_LOCK = 7317003;

/**
 * The tables every event changes, with the thresholds their storage settings give autovacuum
 * (migration ChurnStorage): the outbox after a fixed 1,000 dead rows (it is a queue: its live rows
 * are few), the others after 2% of their live rows, plus autovacuum's base threshold of 50.
 */
const CHURNY: ReadonlyArray<{ table: string; threshold: (live: number) => number }> = [
  { table: 'status_outbox', threshold: () => 1000 },
  { table: 'customer', threshold: (live) => 50 + 0.02 * live },
  { table: 'source_record', threshold: (live) => 50 + 0.02 * live },
  { table: 'status_history', threshold: (live) => 50 + 0.2 * live },
];

export interface VacuumRound {
  /** The tables vacuumed in this round. */
  vacuumed: string[];
  /** False when another instance held the round. */
  ran: boolean;
}

/**
 * A server with autovacuum off (it happens: a DBA's choice, an image tuned for tests) never
 * reclaims the dead rows every change leaves in the customer, record, history and outbox tables,
 * which then grow for ever. The service says so at start and, every TABLE_VACUUM_INTERVAL_MS,
 * vacuums those of its tables past autovacuum's thresholds, one instance at a time (a session
 * advisory lock: VACUUM runs outside a transaction). With autovacuum on it does nothing: the
 * tables' storage settings tell autovacuum what to do.
 */
@Injectable()
export class TableVacuum implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('table-vacuum');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { intervalMs } = this.env.tableVacuum;
    if (intervalMs === 0) return;
    if (await this.autovacuumOn()) return;
    this.logger.warn(
      `PostgreSQL's autovacuum is off: the dead rows every change leaves in ${CHURNY.map((c) => c.table).join(', ')} would never be reclaimed and the tables would grow for ever. ` +
        `statusview vacuums them itself every ${intervalMs} ms (TABLE_VACUUM_INTERVAL_MS; 0 turns this off). Better: turn autovacuum on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf()).`,
    );
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.round()
        .then(() => backgroundSucceeded('table-vacuum'))
        .catch((e: unknown) => backgroundFailed('table-vacuum', e, 'tables not vacuumed; retrying at the next round'))
        .finally(() => (this.running = null));
    }, intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async autovacuumOn(): Promise<boolean> {
    const [{ autovacuum }]: Array<{ autovacuum: string }> = await this.db.query('SHOW autovacuum');
    return autovacuum === 'on';
  }

  /** One round: every churny table past its threshold vacuumed (and analyzed), on a connection of its own. */
  async round(): Promise<VacuumRound> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }]: Array<{ locked: boolean }> = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [VACUUM_LOCK]);
      if (!locked) return { vacuumed: [], ran: false };
      try {
        const stats: Array<{ table: string; live: string; dead: string }> = await runner.query(
          'SELECT relname AS table, n_live_tup AS live, n_dead_tup AS dead FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ANY($1)',
          [CHURNY.map((c) => c.table)],
        );
        const vacuumed: string[] = [];
        for (const { table, threshold } of CHURNY) {
          const s = stats.find((r) => r.table === table);
          if (!s || Number(s.dead) <= threshold(Number(s.live))) continue;
          // The names are the constants above, never input.
          await runner.query(`VACUUM (ANALYZE) ${table}`);
          tablesVacuumed.inc({ table });
          vacuumed.push(table);
        }
        return { vacuumed, ran: true };
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [VACUUM_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }
}

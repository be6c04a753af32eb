import { Client } from 'pg';
import { EnvConfig } from '@app/config';
import { emptyTables, ensureBuilt, envVarsOf, gql, LegacyMysqlDatabase, ServiceProcess, testEnv, waitFor } from '@app/testing';

/**
 * The built service reading billing straight from MariaDB's binlog, killed (SIGKILL) and stopped
 * (SIGTERM) while rows are being written: what was committed to the projection is never applied
 * again, what was not is read again from the binlog at the committed checkpoint. Each account is
 * inserted ACTIVE and, in a later transaction, set AT_RISK: after the restarts every customer has
 * exactly those two history entries, none missing and none twice.
 */
const N = 1500;
const TX_ROWS = 10;

class Scenario {
  readonly env: EnvConfig;
  readonly vars: Record<string, string>;
  readonly db: Client;
  private written = 0;
  private writing: Promise<void> | null = null;

  constructor(readonly legacy: LegacyMysqlDatabase) {
    // Small batches, so that a kill lands between commits while the binlog is being read.
    this.env = testEnv({ CDC_BATCH_SIZE: '20', LOG_LEVEL: 'info', CDC_DIRECT_SYSTEMS: 'billing' });
    this.vars = { ...envVarsOf(this.env), CDC_DIRECT_SYSTEMS: 'billing', LEGACY_BILLING_URL: legacy.url };
    this.db = new Client({ connectionString: this.env.database.url });
  }

  async open(): Promise<void> {
    await emptyTables(this.env.database.url);
    await this.db.connect();
  }

  /** Writes every account in transactions of TX_ROWS: the inserts, then the updates. */
  startWriting(): void {
    this.writing = (async () => {
      for (let i = 0; i < N; i += TX_ROWS) {
        const values = Array.from({ length: TX_ROWS }, (_, k) => `(${i + k}, 'F-${String(i + k).padStart(5, '0')}', 0)`).join(', ');
        await this.legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES ${values}`);
        this.written = i + TX_ROWS;
      }
      for (let i = 0; i < N; i += TX_ROWS) await this.legacy.query(`UPDATE accounts SET state = 1 WHERE account_id >= ? AND account_id < ?`, [i, i + TX_ROWS]);
    })();
  }

  finishWriting(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  async historyEntries(): Promise<number> {
    return (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM status_history')).rows[0].n;
  }

  async expectEverythingOnce(svc: ServiceProcess): Promise<void> {
    await waitFor(async () => (await this.historyEntries()) >= 2 * N, 'every change applied', 90_000);
    const history = await this.db.query<{ customers: number; most: number; least: number }>(
      'SELECT count(*)::int AS customers, max(n)::int AS most, min(n)::int AS least FROM (SELECT customer_id, count(*) AS n FROM status_history GROUP BY 1) h',
    );
    expect(history.rows[0]).toEqual({ customers: N, most: 2, least: 2 });
    const ids = Array.from({ length: 20 }, (_, k) => `F-${String(k * 70).padStart(5, '0')}`);
    const r = await gql<{ customers: Array<{ id: string; status: string } | null> }>(svc.url, 'query($ids: [ID!]!) { customers(ids: $ids) { id status } }', { ids });
    expect(r.data?.customers).toEqual(ids.map((id) => ({ id, status: 'AT_RISK' })));
    const dead = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM direct_dead_letter');
    expect(dead.rows[0].n).toBe(0);
  }

  async checkpoint(): Promise<string | null> {
    const { rows } = await this.db.query<{ position: string }>(`SELECT position FROM source_checkpoint WHERE source = 'billing'`);
    return rows[0]?.position ?? null;
  }

  get progress(): number {
    return this.written;
  }

  async close(): Promise<void> {
    await this.finishWriting().catch(() => undefined);
    await this.db.end().catch(() => undefined);
  }
}

describe('the service reading the binlog, killed or stopped mid-stream', () => {
  let main: string;
  let legacy: LegacyMysqlDatabase;
  const running: ServiceProcess[] = [];
  const start = async (s: Scenario) => {
    const svc = await ServiceProcess.start(main, s.vars);
    running.push(svc);
    return svc;
  };
  const killAll = async () => {
    for (const svc of running.splice(0)) {
      if (!svc.running) continue;
      svc.kill('SIGKILL');
      await svc.exited(5000).catch(() => undefined);
    }
  };

  beforeAll(async () => {
    main = await ensureBuilt();
    legacy = await LegacyMysqlDatabase.create();
  }, 300_000);
  afterAll(async () => {
    await killAll();
    await legacy?.drop();
  });

  it('SIGKILL, then SIGTERM, while rows are written: every change applied once, none lost, none twice', async () => {
    const s = new Scenario(legacy);
    await s.open();
    try {
      const first = await start(s);
      s.startWriting();
      await waitFor(async () => (await s.historyEntries()) >= 300, 'consumption to be under way', 30_000);
      first.kill('SIGKILL');
      expect(await first.exited(5000)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await s.historyEntries()).toBeLessThan(2 * N);

      // Writes go on while it is down; the second one resumes from the committed checkpoint.
      const second = await start(s);
      await waitFor(async () => (await s.historyEntries()) >= N + 300, 'the second service under way', 60_000);
      second.kill('SIGTERM');
      expect(await second.exited(15_000)).toEqual({ code: 0, signal: null });

      const third = await start(s);
      await s.finishWriting();
      await s.expectEverythingOnce(third);

      // Graceful shutdown: the checkpoint stands at the binlog's end (or past it: the server is shared) once everything is applied.
      const end = await legacy.binlogEnd();
      third.kill('SIGTERM');
      expect(await third.exited(15_000)).toEqual({ code: 0, signal: null });
      const [file, pos] = (await s.checkpoint())?.split(':') ?? [];
      expect(file >= end.file && (file > end.file || Number(pos) >= end.pos)).toBe(true);
    } finally {
      await killAll();
      await s.close();
    }
  }, 240_000);

  it('SIGKILL while the dead letter of a committed batch is being stored: after the restart it is stored, and nothing else is applied twice', async () => {
    const s = new Scenario(legacy);
    await s.open();
    // The store refuses one record (a data error, as a column it cannot hold would be): dead-lettered alone, after the batch commits.
    await s.db.query(`ALTER TABLE source_record ADD CONSTRAINT test_refuses_one CHECK (record_key <> '90001')`);
    const lock = new Client({ connectionString: s.env.database.url });
    // This test's accounts only (the table keeps the earlier test's rows, which a first start loads).
    const ours = async () => (await s.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM status_history WHERE customer_id LIKE 'G-%'`)).rows[0].n;
    await lock.connect();
    try {
      const first = await start(s);
      await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (90000, 'G-90000', 0)`);
      await waitFor(async () => (await ours()) >= 1, 'the service streaming', 30_000);
      // Dead letters wait for this lock: the batch commits, its dead letter cannot be stored.
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE direct_dead_letter IN EXCLUSIVE MODE');
      await legacy.query(`INSERT INTO accounts (account_id, cust_ref, state) VALUES (90001, 'G-90001', 0), (90002, 'G-90002', 0)`);
      await waitFor(async () => (await ours()) >= 2, 'the batch with the refused record committed', 30_000);
      await waitFor(
        async () => (await s.db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO direct_dead_letter%'`)).rowCount === 1,
        'the dead letter waiting for the lock',
        30_000,
      );
      first.kill('SIGKILL');
      await first.exited(5000);
      // Its backend would go on and insert once the lock is released (PostgreSQL sees the client gone only when it answers): ended as with the process.
      await s.db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO direct_dead_letter%'`);
      await lock.query('ROLLBACK');

      await start(s);
      const dead = await waitFor(async () => {
        const r = await s.db.query<{ account: string; code: string }>(`SELECT payload::jsonb ->> 'account_id' AS account, code FROM direct_dead_letter WHERE source = 'billing'`);
        return r.rows.length > 0 && r.rows;
      }, 'the dead letter stored after the restart', 30_000);
      expect(dead).toEqual([{ account: '90001', code: 'REJECTED_BY_STORE' }]);
      // The batch read again changed nothing: one history entry per customer.
      expect(await ours()).toBe(2);
    } finally {
      await killAll();
      await lock.end().catch(() => undefined);
      await s.db.query('ALTER TABLE source_record DROP CONSTRAINT IF EXISTS test_refuses_one').catch(() => undefined);
      await s.close();
    }
  }, 120_000);
});

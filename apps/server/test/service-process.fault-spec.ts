import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { Client } from 'pg';
import { EnvConfig } from '@app/config';
import { CRM, gql, testEnv, waitFor } from '@app/testing';
import { CdcPublisher, emptyTables, ensureBuilt, envVarsOf, ServiceProcess } from '@app/testing';

/**
 * The service itself killed (SIGKILL) or stopped (SIGTERM) in the middle of the flow: the built
 * server (dist/apps/server/src/main.js) runs as a child process, as in production, against the
 * machine's servers under names of its own (database of the run, queue, exchanges, Redis prefix).
 * Each customer gets exactly one event, which sets its first status: after the restart, every
 * customer must have exactly one history entry and one status change published.
 */
const N = 3000;
const crmStatus = (i: number) => ['ACTIVE', 'DORMANT', 'PROSPECT', 'CLOSED'][i % 4];
const status = (i: number) => ['PENDING', 'INACTIVE', 'PENDING', 'CLOSED'][i % 4];

class Scenario {
  readonly env: EnvConfig;
  readonly ids: string[];
  readonly vars: Record<string, string>;
  readonly db: Client;
  publisher!: CdcPublisher;
  private watcher!: amqp.ChannelModel;
  readonly statusChanges: Array<{ messageId: string; customerId: string }> = [];

  constructor(prefix: string) {
    // A batch of 200 takes tens of milliseconds: a signal sent while consuming lands in one.
    this.env = testEnv({ CDC_BATCH_SIZE: '200', AMQP_PREFETCH: '1000', LOG_LEVEL: 'info' });
    this.vars = envVarsOf(this.env);
    this.ids = Array.from({ length: N }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
    this.db = new Client({ connectionString: this.env.database.url });
  }

  async open(): Promise<void> {
    await emptyTables(this.env.database.url);
    await this.db.connect();
    this.publisher = await new CdcPublisher(this.env.amqp.url, this.env.amqp.exchange).connect();
    // What the outbox relay publishes, across the service's restarts.
    this.watcher = await amqp.connect(this.env.amqp.url);
    const ch = await this.watcher.createChannel();
    await ch.assertExchange(this.env.outbox.exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, this.env.outbox.exchange, '#');
    await ch.consume(queue, (m) => {
      if (!m) return;
      this.statusChanges.push({ messageId: m.properties.messageId as string, customerId: (JSON.parse(m.content.toString()) as { customerId: string }).customerId });
    }, { noAck: true });
  }

  publishAll(): Promise<void> {
    return this.publisher.events(this.ids.map((id, i) => [CRM, 'c', null, { id: i, customer_no: id, email: null, status: crmStatus(i), updated_at: 1 }]));
  }

  async applied(): Promise<number> {
    return (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_record')).rows[0].n;
  }

  /**
   * Holds a lock on status_outbox until `release`: the batches in flight (CDC_CONCURRENCY, 2) then
   * wait inside their transactions (records upserted, outbox insert not yet done): provably in the middle.
   */
  async holdBatchMidway(): Promise<{ release: (how: 'COMMIT' | 'ROLLBACK') => Promise<void> }> {
    const lock = new Client({ connectionString: this.env.database.url });
    // Terminated with the database at the end (57P01): not a reason to crash the test run.
    lock.on('error', () => undefined);
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE status_outbox IN EXCLUSIVE MODE');
    // A batch waits for the lock of status_outbox in the statement that writes its customers (the
    // statement text in pg_stat_activity is cut at 1 KB: the lock, not the text, tells).
    const waiting = () =>
      this.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE a.datname = current_database() AND NOT l.granted AND l.relation = 'status_outbox'::regclass AND a.query LIKE '%INSERT INTO customer%'`,
      );
    try {
      await waitFor(async () => (await waiting()).rows[0].n >= 1, 'a batch to wait inside its transaction');
    } catch (e) {
      await lock.end();
      throw e;
    }
    return {
      release: async (how) => {
        await lock.query(how);
        await lock.end();
      },
    };
  }

  waiting(): Promise<{ messages: number; consumers: number }> {
    return this.publisher.ready(this.env.amqp.queue);
  }

  /** Every event reflected once: GraphQL answers every customer right, one history entry and one published change each. */
  /** The queue once RabbitMQ has noticed that the killed service's consumer is gone. */
  waitingWithoutConsumer() {
    return waitFor(async () => {
      const w = await this.waiting();
      return w.consumers === 0 ? w : undefined;
    }, 'RabbitMQ to notice the dead consumer');
  }

  async expectEverythingReflectedOnce(svc: ServiceProcess): Promise<void> {
    await waitFor(async () => (await this.applied()) === N && (await this.waiting()).messages === 0, 'every event applied after the restart', 60_000);
    for (let k = 0; k < N; k += 1000) {
      const ids = this.ids.slice(k, k + 1000);
      const r = await gql<{ customers: Array<{ id: string; status: string } | null> }>(svc.url, 'query($ids: [ID!]!) { customers(ids: $ids) { id status } }', { ids });
      expect(r.errors).toBeUndefined();
      expect(r.data!.customers).toEqual(ids.map((id, j) => ({ id, status: status(k + j) })));
    }
    const history = await this.db.query<{ entries: number; customers: number; most: number }>(
      'SELECT sum(n)::int AS entries, count(*)::int AS customers, max(n)::int AS most FROM (SELECT customer_id, count(*) AS n FROM status_history GROUP BY 1) h',
    );
    expect(history.rows[0]).toEqual({ entries: N, customers: N, most: 1 });
    await waitFor(async () => new Set(this.statusChanges.map((c) => c.messageId)).size === N, 'every status change published', 30_000);
    expect(new Set(this.statusChanges.map((c) => c.customerId)).size).toBe(N);
    expect((await this.db.query('SELECT count(*)::int AS n FROM status_outbox')).rows[0].n).toBe(0);
    expect(await this.publisher.ready(`${this.env.amqp.queue}.dlq`)).toEqual({ messages: 0, consumers: 0 });
  }

  async close(): Promise<void> {
    const { queue, exchange } = this.env.amqp;
    const ch = this.publisher?.channel;
    if (ch) {
      for (const q of [queue, `${queue}.dlq`]) await ch.deleteQueue(q).catch(() => undefined);
      for (const x of [exchange, this.env.outbox.exchange]) await ch.deleteExchange(x).catch(() => undefined);
    }
    await this.watcher?.close().catch(() => undefined);
    await this.publisher?.close();
    await this.db.end().catch(() => undefined);
    const redis = new Redis(this.env.redis.url);
    const keys = await redis.keys(`${this.env.redis.prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

describe('the service killed or stopped in the middle of the flow', () => {
  let main: string;
  const running: ServiceProcess[] = [];
  const start = async (s: Scenario) => {
    const svc = await ServiceProcess.start(main, s.vars);
    running.push(svc);
    return svc;
  };
  /** After a failure: no service left that would declare the scenario's queue again once it is deleted. */
  const killAll = async () => {
    for (const svc of running.splice(0)) {
      if (!svc.running) continue;
      svc.kill('SIGKILL');
      await svc.exited(5000).catch(() => undefined);
    }
  };

  /** A second service finishes the scenario: every event reflected once, then it stops cleanly. */
  const restartAndExpectEverythingOnce = async (s: Scenario) => {
    const second = await start(s);
    await s.expectEverythingReflectedOnce(second);
    second.kill('SIGTERM');
    expect(await second.exited(15_000)).toEqual({ code: 0, signal: null });
  };

  beforeAll(async () => {
    main = await ensureBuilt();
  }, 300_000);
  afterAll(killAll);

  it('SIGKILL while consuming: after a restart every event is reflected exactly once, and every status change published', async () => {
    const s = new Scenario('KILL');
    await s.open();
    try {
      const first = await start(s);
      await s.publishAll();
      await waitFor(async () => (await s.applied()) >= 600, 'consumption to be under way', 30_000);
      first.kill('SIGKILL');
      expect(await first.exited(5000)).toEqual({ code: null, signal: 'SIGKILL' });
      // Torn: part applied; the rest, and whatever was committed but not yet acknowledged, back in the queue.
      const applied = await s.applied();
      const waiting = await s.waitingWithoutConsumer();
      expect(applied).toBeLessThan(N);
      expect(applied + waiting.messages).toBeGreaterThanOrEqual(N);

      await restartAndExpectEverythingOnce(s);
    } finally {
      await killAll();
      await s.close();
    }
  }, 180_000);

  it('SIGKILL inside a batch transaction: the batch commits whole or not at all, none of it acknowledged, and after a restart every event is reflected exactly once', async () => {
    const s = new Scenario('KILLTX');
    await s.open();
    try {
      const first = await start(s);
      await s.publishAll();
      await waitFor(async () => (await s.applied()) >= 600, 'consumption to be under way', 30_000);
      const held = await s.holdBatchMidway();
      const before = await s.applied();
      first.kill('SIGKILL');
      expect(await first.exited(5000)).toEqual({ code: null, signal: 'SIGKILL' });
      await held.release('ROLLBACK');
      // The batch in the middle commits whole or not at all: its last script (writes and COMMIT,
      // in PostgreSQL's hands before the kill) may still commit once the lock is free, as if the
      // process had died just after a commit; it is never torn (records without their customers),
      // and none of it was acknowledged: all of it is back in the queue.
      expect(await s.applied()).toBeGreaterThanOrEqual(before);
      const { rows } = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_record r WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = r.customer_id)');
      expect(rows[0].n).toBe(0);
      const waiting = await s.waitingWithoutConsumer();
      expect(waiting.messages).toBeGreaterThanOrEqual(N - before);

      await restartAndExpectEverythingOnce(s);
    } finally {
      await killAll();
      await s.close();
    }
  }, 180_000);

  describe('SIGTERM mid-flow', () => {
    const s = new Scenario('TERM');
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    let took: number;
    let output: string;
    let atSignal: number;
    let applied: number;
    let waiting: { messages: number; consumers: number };

    beforeAll(async () => {
      await s.open();
      const svc = await start(s);
      await s.publishAll();
      await waitFor(async () => (await s.applied()) >= 600, 'consumption to be under way', 30_000);
      // Batches provably in flight when the signal comes: they wait inside their transactions until
      // half a second after the SIGTERM (the service has stopped taking messages by then).
      const held = await s.holdBatchMidway();
      atSignal = await s.applied();
      const signalled = Date.now();
      svc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      const stillRunning = svc.running;
      await held.release('COMMIT');
      expect(stillRunning).toBe(true);
      exit = await svc.exited(20_000);
      took = Date.now() - signalled;
      output = svc.output();
      applied = await s.applied();
      waiting = await s.waiting();
    }, 120_000);
    afterAll(async () => {
      await killAll();
      await s.close();
    });

    it('exits 0 within 15 s', () => {
      expect(exit).toEqual({ code: 0, signal: null });
      expect(took).toBeLessThan(15_000);
      expect(output).toContain('SIGTERM received: stopping');
    });

    it('commits the batch in flight, closes its broker connection (no consumer left) and loses nothing: what is not in PostgreSQL is still in the queue', () => {
      expect(applied).toBeGreaterThan(atSignal);
      expect(applied).toBeLessThan(N);
      expect(waiting.consumers).toBe(0);
      expect(waiting.messages + applied).toBeGreaterThanOrEqual(N);
    });

    // AmqpCdcConsumer.stop() closes the channel before the connection, so the ack(multiple) of
    // the batch in flight reaches RabbitMQ before the connection goes.
    it('acknowledges the batch it committed before closing: exactly what is not in PostgreSQL is still in the queue', () => {
      expect(waiting.messages).toBe(N - applied);
    });

    it('after a restart, every event is reflected exactly once, and a SIGTERM to the idle service stops it at once', async () => {
      const svc = await start(s);
      await s.expectEverythingReflectedOnce(svc);
      const idle = Date.now();
      svc.kill('SIGTERM');
      expect(await svc.exited(15_000)).toEqual({ code: 0, signal: null });
      expect(Date.now() - idle).toBeLessThan(5000);
    }, 120_000);
  });
});

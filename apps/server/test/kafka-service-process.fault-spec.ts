import * as amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { DebeziumJsonDecoder, DebeziumLog } from '@app/cdc';
import { EnvConfig, loadDomainConfig } from '@app/config';
import { CRM, emptyTables, ensureBuilt, envVarsOf, gql, KafkaCommitAudit, KafkaMockCluster, KafkaTestClient, ProducedMessage, ServiceProcess, testEnv, waitFor } from '@app/testing';

/**
 * The service killed (SIGKILL) or stopped (SIGTERM) in the middle of consuming Kafka: the built
 * server runs as a child process with CDC_TRANSPORT=kafka against librdkafka's mock cluster (one
 * per scenario, so each has its topics to itself). Each customer gets exactly one event, keyed by
 * its record, which sets its first status: after the restart every customer must have exactly one
 * history entry and one published status change. Throughout, the group's committed offsets are
 * audited against PostgreSQL: no offset is ever committed for a message the projection does not hold.
 */
const N = 3000;
const crmStatus = (i: number) => ['ACTIVE', 'DORMANT', 'PROSPECT', 'CLOSED'][i % 4];
const status = (i: number) => ['PENDING', 'INACTIVE', 'PENDING', 'CLOSED'][i % 4];
const domain = loadDomainConfig('config');

class Scenario {
  env!: EnvConfig;
  vars!: Record<string, string>;
  readonly ids: string[];
  readonly db: Client;
  cluster!: KafkaMockCluster;
  kafka!: KafkaTestClient;
  audit!: KafkaCommitAudit;
  private watcher!: amqp.ChannelModel;
  readonly statusChanges: Array<{ messageId: string; customerId: string }> = [];
  private readonly log = new DebeziumLog();

  constructor(readonly prefix: string) {
    this.ids = Array.from({ length: N }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
    this.db = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  }

  async open(): Promise<void> {
    this.cluster = await KafkaMockCluster.start();
    this.kafka = await new KafkaTestClient(this.cluster).connect();
    const id = randomBytes(3).toString('hex');
    this.env = testEnv({
      CDC_TRANSPORT: 'kafka',
      KAFKA_BROKERS: this.cluster.bootstrap,
      KAFKA_GROUP_ID: `statusview-${this.prefix.toLowerCase()}-${id}`,
      KAFKA_DLQ_TOPIC: `statusview-${this.prefix.toLowerCase()}-${id}.dlq`,
      // A chunk of 200 takes tens of milliseconds: a signal sent while consuming lands in one.
      CDC_BATCH_SIZE: '200',
      // The group notices a killed member after this long (the mock checks every second).
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_FETCH_MAX_WAIT_MS: '100',
      LOG_LEVEL: 'info',
    });
    this.vars = envVarsOf(this.env);
    await emptyTables(this.env.database.url);
    await this.db.connect();
    this.audit = new KafkaCommitAudit(this.kafka, this.db, this.env.kafka.groupId, new DebeziumJsonDecoder(domain.sources));
    // What the outbox relay publishes (RabbitMQ), across the service's restarts.
    this.watcher = await amqp.connect(this.env.amqp.url);
    const ch = await this.watcher.createChannel();
    await ch.assertExchange(this.env.outbox.exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, this.env.outbox.exchange, '#');
    await ch.consume(
      queue,
      (m) => {
        if (!m) return;
        this.statusChanges.push({ messageId: m.properties.messageId as string, customerId: (JSON.parse(m.content.toString()) as { customerId: string }).customerId });
      },
      { noAck: true },
    );
  }

  /**
   * Events `from` to `to` (one per customer), keyed by record as Debezium keys them; the audit is
   * told where each landed. Consuming 3000 takes well under a second: the scenarios publish half,
   * wait until consumption is under way, then act while the second half is being consumed.
   */
  async publish(from: number, to: number): Promise<void> {
    const messages: ProducedMessage[] = this.ids.slice(from, to).map((id, k) => ({
      key: { id: from + k },
      value: this.log.envelope(CRM, 'c', null, { id: from + k, customer_no: id, email: null, status: crmStatus(from + k), updated_at: 1 }),
    }));
    for (let k = 0; k < messages.length; k += 500) {
      const part = messages.slice(k, k + 500);
      this.audit.produced(CRM.topic, part, await this.kafka.send(CRM.topic, part));
    }
  }

  /** The first half, and consumption under way. */
  async publishFirstHalf(): Promise<void> {
    await this.publish(0, N / 2);
    await waitFor(async () => (await this.applied()) >= 600, 'consumption to be under way', 30_000);
  }

  async applied(): Promise<number> {
    return (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_record')).rows[0].n;
  }

  /** Records committed without their customer: a batch committed in part. */
  async torn(): Promise<number> {
    return (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_record s WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = s.customer_id)')).rows[0].n;
  }

  /** Messages the group committed: offsets start at 0 on every partition, so the sum of the committed offsets. */
  async committed(): Promise<number> {
    let n = 0;
    for (const offset of (await this.kafka.committed(this.env.kafka.groupId, [CRM.topic])).values()) n += Number(offset);
    return n;
  }

  /**
   * Holds a lock on status_outbox until `release`, then runs `then` (the second half published):
   * the chunks in flight (CDC_CONCURRENCY, 2) wait inside their transactions (records upserted,
   * outbox insert not yet done): provably in the middle.
   */
  async holdBatchMidway(then: () => Promise<void>): Promise<{ release: (how: 'COMMIT' | 'ROLLBACK') => Promise<void> }> {
    const lock = new Client({ connectionString: this.env.database.url });
    lock.on('error', () => undefined);
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE status_outbox IN EXCLUSIVE MODE');
    const lockPid = (await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await then();
    // A batch's statement blocked by this lock, found by its blocker (pg_stat_activity keeps only the
    // first 1 kB of a query, and the batch's statement names status_outbox after that). The relay's
    // SELECT ... FOR UPDATE is blocked too: not that one.
    await waitFor(
      async () =>
        (
          await this.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid)) AND query NOT LIKE '%FOR UPDATE SKIP LOCKED%'`,
            [lockPid],
          )
        ).rows[0].n >= 1,
      'a batch to wait inside its transaction',
    ).catch(async (e: Error) => {
      await lock.query('ROLLBACK');
      await lock.end();
      throw e;
    });
    return {
      release: async (how) => {
        await lock.query(how);
        await lock.end();
      },
    };
  }

  async expectEverythingReflectedOnce(svc: ServiceProcess): Promise<void> {
    await waitFor(async () => (await this.applied()) === N && (await this.committed()) === N, 'every event applied and committed after the restart', 90_000);
    for (let k = 0; k < N; k += 1000) {
      const ids = this.ids.slice(k, k + 1000);
      const r = await gql<{ customers: Array<{ id: string; status: string } | null> }>(svc.url, 'query($ids: [ID!]!) { customers(ids: $ids) { id status } }', { ids });
      expect(r.errors).toBeUndefined();
      expect(r.data!.customers).toEqual(ids.map((id, j) => ({ id, status: status(k + j) })));
    }
    // Redelivered events changed nothing: no history entry twice.
    const history = await this.db.query<{ entries: number; customers: number; most: number }>(
      'SELECT sum(n)::int AS entries, count(*)::int AS customers, max(n)::int AS most FROM (SELECT customer_id, count(*) AS n FROM status_history GROUP BY 1) h',
    );
    expect(history.rows[0]).toEqual({ entries: N, customers: N, most: 1 });
    await waitFor(async () => new Set(this.statusChanges.map((c) => c.messageId)).size === N, 'every status change published', 30_000);
    expect(new Set(this.statusChanges.map((c) => c.customerId)).size).toBe(N);
    expect((await this.db.query('SELECT count(*)::int AS n FROM status_outbox')).rows[0].n).toBe(0);
    expect(await this.kafka.readAll(this.env.kafka.dlqTopic)).toEqual([]);
    const audit = await this.audit.stop();
    expect(audit.violations).toEqual([]);
    expect(audit.checked).toBe(N);
    expect(audit.samples).toBeGreaterThan(10);
  }

  async close(): Promise<void> {
    await this.watcher?.close().catch(() => undefined);
    await this.audit?.dispose();
    await this.kafka?.close().catch(() => undefined);
    await this.cluster?.stop();
    await this.db.end().catch(() => undefined);
    const redis = new Redis(this.env.redis.url);
    const keys = await redis.keys(`${this.env.redis.prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

describe('the service killed or stopped in the middle of consuming Kafka', () => {
  let main: string;
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

  it('SIGKILL while consuming: nothing committed ahead of PostgreSQL, and after a restart every event is applied once', async () => {
    const s = new Scenario('KKILL');
    await s.open();
    try {
      const first = await start(s);
      s.audit.start();
      await s.publishFirstHalf();
      await s.publish(N / 2, N);
      first.kill('SIGKILL');
      expect(await first.exited(5000)).toEqual({ code: null, signal: 'SIGKILL' });
      // Torn: part applied; the group's offsets at or behind it (what was applied but not yet
      // committed will be redelivered and skipped as duplicates).
      const applied = await s.applied();
      const committed = await s.committed();
      expect(applied).toBeLessThan(N);
      expect(committed).toBeLessThanOrEqual(applied);

      await restartAndExpectEverythingOnce(s);
    } finally {
      await killAll();
      await s.close();
    }
  }, 180_000);

  it('SIGKILL inside a batch transaction: the chunk commits whole or not at all, its offset is not committed, and after a restart every event is applied once', async () => {
    const s = new Scenario('KKILLTX');
    await s.open();
    try {
      const first = await start(s);
      s.audit.start();
      await s.publishFirstHalf();
      const held = await s.holdBatchMidway(() => s.publish(N / 2, N));
      const before = await s.applied();
      first.kill('SIGKILL');
      expect(await first.exited(5000)).toEqual({ code: null, signal: 'SIGKILL' });
      await held.release('ROLLBACK');
      // The chunks in the middle commit whole or not at all: the last script of one (its writes
      // and COMMIT, in PostgreSQL's hands before the kill) may still commit once the lock is free,
      // as if the process had died just after a commit; none is torn (records without their
      // customers), and none had its offset committed.
      expect(await s.applied()).toBeGreaterThanOrEqual(before);
      expect(await s.torn()).toBe(0);
      expect(await s.committed()).toBeLessThanOrEqual(before);

      await restartAndExpectEverythingOnce(s);
    } finally {
      await killAll();
      await s.close();
    }
  }, 180_000);

  describe('SIGTERM mid-flow', () => {
    const s = new Scenario('KTERM');
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    let took: number;
    let atSignal: number;
    let applied: number;
    let committed: number;

    beforeAll(async () => {
      await s.open();
      const svc = await start(s);
      s.audit.start();
      await s.publishFirstHalf();
      // Chunks provably in flight when the signal comes: they wait inside their transactions
      // until half a second after the SIGTERM.
      const held = await s.holdBatchMidway(() => s.publish(N / 2, N));
      atSignal = await s.applied();
      const signalled = Date.now();
      svc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      const stillRunning = svc.running;
      await held.release('COMMIT');
      expect(stillRunning).toBe(true);
      exit = await svc.exited(20_000);
      took = Date.now() - signalled;
      applied = await s.applied();
      committed = await s.committed();
    }, 120_000);
    afterAll(async () => {
      await killAll();
      await s.close();
    });

    it('exits 0 within 15 s', () => {
      expect(exit).toEqual({ code: 0, signal: null });
      expect(took).toBeLessThan(15_000);
    });

    // The chunk in flight is committed through the group's own commit, which kafkajs's
    // consumer.commitOffsets would have skipped once the consumer was stopping.
    it('commits the chunks in flight and their offsets before leaving: exactly what is in PostgreSQL is committed', () => {
      expect(applied).toBeGreaterThan(atSignal);
      expect(applied).toBeLessThan(N);
      expect(committed).toBe(applied);
    });

    it('after a restart, every event is applied once', async () => {
      await restartAndExpectEverythingOnce(s);
    }, 120_000);
  });
});

import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { ChangeEventDecoder } from '@app/cdc';
import { EnvConfig, loadDomainConfig } from '@app/config';
import { openDatabase } from '@app/projection';
import {
  emptyTables,
  ensureBuilt,
  envVarsOf,
  gql,
  KafkaCommitAudit,
  KafkaMockCluster,
  KafkaTestClient,
  randomChangeStream,
  ServiceProcess,
  StreamMessage,
  testEnv,
  waitFor,
} from '@app/testing';

/**
 * Scale-out over Kafka: two instances of the service in one consumer group on librdkafka's mock
 * cluster, fed the random stream of the RabbitMQ scale-out test keyed by record as Debezium keys
 * it (creates, moves, deletes, a truncate, redeliveries). The second instance starts mid-stream,
 * the first stops (SIGTERM) mid-stream. Each partition must be processed by one member at a time,
 * no offset may be committed for work that did not commit, and the projection must end exactly as
 * one instance computes it from the same stream, with `verify` finding nothing.
 */
const SEED = Number(process.env.SCALE_OUT_SEED ?? 20261201);
const EVENTS = 3000;
const CUSTOMERS = 120;
const CLI = join(__dirname, '../../../dist/apps/cli/src/main.js');
const domain = loadDomainConfig('config');
const TOPICS = domain.sources.systems.map((s) => s.topic);

interface Chunk {
  instance: string;
  outcome: string;
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  startedAt: number;
  endedAt: number;
}

class Deployment {
  readonly env: EnvConfig;
  readonly vars: Record<string, string>;
  readonly db: Client;
  cluster!: KafkaMockCluster;
  kafka!: KafkaTestClient;
  audit!: KafkaCommitAudit;
  readonly chunks: Chunk[] = [];
  readonly joins: Array<{ instance: string; msg: string }> = [];
  private readonly produced = new Map<string, bigint>();

  constructor(databaseUrl: string) {
    const id = randomBytes(3).toString('hex');
    this.env = testEnv({
      DATABASE_URL: databaseUrl,
      CDC_TRANSPORT: 'kafka',
      KAFKA_GROUP_ID: `statusview-scale-${id}`,
      KAFKA_DLQ_TOPIC: `statusview-scale-${id}.dlq`,
      // Small chunks, two partitions at once per instance: the most interleaving between instances.
      CDC_BATCH_SIZE: '8',
      CDC_CONCURRENCY: '2',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_FETCH_MAX_WAIT_MS: '100',
      // One line per chunk (which instance applied which offsets, when): debug.
      LOG_LEVEL: 'debug',
    });
    this.vars = envVarsOf(this.env);
    this.db = new Client({ connectionString: databaseUrl });
  }

  async open(): Promise<void> {
    this.cluster = await KafkaMockCluster.start();
    this.vars.KAFKA_BROKERS = this.cluster.bootstrap;
    this.kafka = await new KafkaTestClient(this.cluster).connect();
    await emptyTables(this.env.database.url);
    await this.db.connect();
    this.audit = new KafkaCommitAudit(this.kafka, this.db, this.env.kafka.groupId, new ChangeEventDecoder(domain.sources));
  }

  /** Logs of an instance, kept whole: chunks and group joins. */
  lines(instance: string) {
    return (line: string) => {
      const l = JSON.parse(line) as Record<string, unknown>;
      if (l.msg === 'kafka chunk') this.chunks.push({ instance, ...(l as unknown as Omit<Chunk, 'instance'>) });
      else if (typeof l.msg === 'string' && /joined group|gave up|started again|crashed/.test(l.msg)) this.joins.push({ instance, msg: l.msg });
    };
  }

  async publish(messages: readonly StreamMessage[]): Promise<void> {
    for (const topic of TOPICS) {
      const mine = messages.filter((m) => m.topic === topic).map((m) => ({ key: m.key, value: m.body }));
      if (mine.length === 0) continue;
      const where = await this.kafka.send(topic, mine);
      this.audit.produced(topic, mine, where);
      for (const w of where) {
        const tp = `${topic}[${w.partition}]`;
        const next = BigInt(w.offset) + 1n;
        if (next > (this.produced.get(tp) ?? 0n)) this.produced.set(tp, next);
      }
    }
  }

  /** Every produced message committed by the group, and every status change relayed. */
  async drained(): Promise<void> {
    await waitFor(
      async () => {
        const committed = await this.kafka.committed(this.env.kafka.groupId, TOPICS);
        return [...this.produced].every(([tp, end]) => committed.get(tp) === end);
      },
      'the group to commit every produced message',
      120_000,
    );
    await waitFor(async () => (await this.db.query('SELECT count(*)::int AS n FROM status_outbox')).rows[0].n === 0, 'the outbox relayed', 30_000);
  }

  async projection(): Promise<{ customers: string[]; records: string[] }> {
    // As the RabbitMQ scale-out test compares them (see there why these columns).
    const customers = await this.db.query<{ line: string }>(`SELECT concat_ws('|', id, status, reason) AS line FROM customer WHERE live ORDER BY id`);
    const records = await this.db.query<{ line: string }>(
      `SELECT concat_ws('|', system, record_key, deleted, position, CASE WHEN NOT deleted THEN concat_ws('|', customer_id, status, rule) END) AS line
       FROM source_record ORDER BY system, record_key`,
    );
    return { customers: customers.rows.map((r) => r.line), records: records.rows.map((r) => r.line) };
  }

  verify(): Promise<{ code: number; stdout: string }> {
    const env = { ...process.env, DATABASE_URL: this.env.database.url, REDIS_URL: this.env.redis.url, REDIS_PREFIX: this.env.redis.prefix, OUTBOX_RELAY: 'false' };
    return new Promise((resolve) =>
      execFile(process.execPath, [CLI, 'verify', '--cache', '--format', 'json'], { env }, (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
      ),
    );
  }

  async close(): Promise<void> {
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

describe('two instances in one Kafka consumer group', () => {
  let main: string;
  const running: ServiceProcess[] = [];
  const deployments: Deployment[] = [];
  const singleDb = `${process.env.TEST_DATABASE_URL!}_ksingle`;

  beforeAll(async () => {
    main = await ensureBuilt();
    await (await openDatabase(singleDb)).destroy();
  }, 300_000);

  afterAll(async () => {
    for (const s of running) if (s.running) s.kill('SIGKILL');
    for (const d of deployments) await d.close();
    const admin = new Client({ connectionString: process.env.TEST_DATABASE_URL!.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${new URL(singleDb).pathname.slice(1)}" WITH (FORCE)`);
    await admin.end();
  });

  const start = async (d: Deployment, instance: string) => {
    const svc = await ServiceProcess.start(main, d.vars, { onLine: d.lines(instance) });
    running.push(svc);
    return svc;
  };

  it(`converge to what one instance computes, the second joining and the first leaving mid-stream (seed ${SEED})`, async () => {
    const messages = randomChangeStream(SEED, { events: EVENTS, customers: CUSTOMERS });
    const chunks = Array.from({ length: 12 }, (_, k) => messages.slice((k * messages.length) / 12, ((k + 1) * messages.length) / 12));

    // The reference: one instance, the whole stream, no fault.
    const single = new Deployment(singleDb);
    deployments.push(single);
    await single.open();
    const one = await start(single, 'single');
    await single.publish(messages);
    await single.drained();
    const expected = await single.projection();
    one.kill('SIGTERM');
    await one.exited(20_000);

    // Two instances in one group: b joins after a third of the stream, a leaves after two thirds.
    const pair = new Deployment(process.env.TEST_DATABASE_URL!);
    deployments.push(pair);
    await pair.open();
    pair.audit.start();
    const a = await start(pair, 'a');
    let b: ServiceProcess | undefined;
    for (let k = 0; k < chunks.length; k++) {
      await pair.publish(chunks[k]);
      if (k === 3) b = await start(pair, 'b');
      if (k === 8) {
        // b must have its share before a leaves, so that a's leaving hands partitions over.
        await waitFor(async () => pair.chunks.some((c) => c.instance === 'b' && c.outcome === 'committed'), 'b to commit a chunk', 90_000);
        a.kill('SIGTERM');
        expect(await a.exited(20_000)).toEqual({ code: 0, signal: null });
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    await pair.drained();
    const actual = await pair.projection();

    expect(actual.records.length).toBeGreaterThan(100);
    expect(actual.customers).toEqual(expected.customers);
    expect(actual.records).toEqual(expected.records);

    // Both applied some of it; per partition, one member at a time: a chunk of one instance never
    // overlaps in time a chunk of the other on the same partition, committed or not.
    const byInstance = (i: string) => pair.chunks.filter((c) => c.instance === i && c.outcome === 'committed').length;
    expect(byInstance('a')).toBeGreaterThan(0);
    expect(byInstance('b')).toBeGreaterThan(0);
    const overlaps: string[] = [];
    const byPartition = new Map<string, Chunk[]>();
    for (const c of pair.chunks) byPartition.set(`${c.topic}[${c.partition}]`, [...(byPartition.get(`${c.topic}[${c.partition}]`) ?? []), c]);
    for (const [tp, list] of byPartition) {
      for (const x of list) {
        for (const y of list) {
          if (x.instance < y.instance && x.startedAt < y.endedAt && y.startedAt < x.endedAt) {
            overlaps.push(`${tp}: ${x.instance} ${x.firstOffset}..${x.lastOffset} and ${y.instance} ${y.firstOffset}..${y.lastOffset}`);
          }
        }
      }
    }
    expect(overlaps).toEqual([]);

    // No offset was committed for work that did not commit (sampled every 50 ms throughout).
    const audit = await pair.audit.stop();
    expect(audit.violations).toEqual([]);
    expect(audit.samples).toBeGreaterThan(50);
    expect(await pair.kafka.readAll(pair.env.kafka.dlqTopic)).toEqual([]);

    // b answers as one instance computed it, from Redis or PostgreSQL.
    const ids = expected.customers.map((l) => l.split('|')[0]);
    const fromB = await gql<{ customers: Array<{ id: string; status: string } | null> }>(b!.url, 'query($ids: [ID!]!) { customers(ids: $ids) { id status } }', { ids });
    expect(fromB.errors).toBeUndefined();
    expect(fromB.data!.customers.map((c) => `${c!.id}|${c!.status}`)).toEqual(expected.customers.map((l) => l.split('|').slice(0, 2).join('|')));

    const verified = await pair.verify();
    const report = JSON.parse(verified.stdout) as { counts: Record<string, number> };
    expect(report.counts).toEqual({ status: 0, mapping: 0, liveness: 0, orphan: 0, cache: 0 });
    expect(verified.code).toBe(0);
    // For the record (the mock's SyncGroup race, see README): how the group formed.
    process.stderr.write(`kafka scale-out: ${pair.joins.map((j) => `${j.instance}: ${j.msg}`).join('\n  ')}\n`);
  }, 300_000);
});

import * as amqp from 'amqplib';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { EnvConfig } from '@app/config';
import { openDatabase } from '@app/projection';
import { emptyTables, ensureBuilt, envVarsOf, gql, randomChangeStream, ServiceProcess, StreamMessage, testEnv, waitFor } from '@app/testing';

/**
 * Scale-out: two instances of the service on one RabbitMQ queue, fed an interleaved random
 * stream (creates, status updates, records moving to another customer right after their
 * creation, deletes with the full row and with the key only, a truncate, redeliveries and late
 * duplicates), one instance killed with SIGKILL mid-stream and started again. The projection must
 * end exactly as one instance computes it from the same stream, and `verify` must find nothing.
 */
const SEED = Number(process.env.SCALE_OUT_SEED ?? 20261201);
const EVENTS = 3000;
const CUSTOMERS = 120;
const CLI = join(__dirname, '../../../dist/apps/cli/src/main.js');

class Deployment {
  readonly env: EnvConfig;
  readonly vars: Record<string, string>;
  readonly db: Client;
  private conn!: amqp.ChannelModel;
  private ch!: amqp.ConfirmChannel;

  constructor(databaseUrl: string) {
    // Small batches, two in flight per instance: the most interleaving between instances.
    this.env = testEnv({ DATABASE_URL: databaseUrl, CDC_BATCH_SIZE: '8', CDC_CONCURRENCY: '2', AMQP_PREFETCH: '64', LOG_LEVEL: 'warn' });
    this.vars = envVarsOf(this.env);
    this.db = new Client({ connectionString: databaseUrl });
  }

  async open(): Promise<void> {
    await emptyTables(this.env.database.url);
    await this.db.connect();
    this.conn = await amqp.connect(this.env.amqp.url);
    this.ch = await this.conn.createConfirmChannel();
    await this.ch.assertExchange(this.env.amqp.exchange, 'topic', { durable: true });
  }

  async publish(messages: readonly StreamMessage[]): Promise<void> {
    for (const m of messages) this.ch.publish(this.env.amqp.exchange, m.topic, Buffer.from(JSON.stringify(m.body)), { persistent: true });
    await this.ch.waitForConfirms();
  }

  /** Ready and unacknowledged messages of the queue (rabbitmqctl: the client protocol does not tell the unacknowledged). */
  queueDepth(): number {
    const out = execFileSync('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name', 'messages_ready', 'messages_unacknowledged'], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.split(/\s+/)[0] === this.env.amqp.queue);
    if (!line) return Infinity;
    const [, ready, unacked] = line.trim().split(/\s+/);
    return Number(ready) + Number(unacked);
  }

  async drained(): Promise<void> {
    await waitFor(async () => this.queueDepth() === 0, 'the queue to be consumed and acknowledged', 120_000);
    await waitFor(async () => (await this.db.query('SELECT count(*)::int AS n FROM status_outbox')).rows[0].n === 0, 'the outbox relayed', 30_000);
  }

  async projection(): Promise<{ customers: string[]; records: string[] }> {
    // Live customers only: whether a customer that lost all its records has a row (not live) at
    // all depends on batching (a create and a move in one batch never made it live).
    const customers = await this.db.query<{ line: string }>(`SELECT concat_ws('|', id, status, reason) AS line FROM customer WHERE live ORDER BY id`);
    // A deleted record keeps the mapping and customer it had when its delete applied, which also
    // depends on batching (a create and a delete in one batch leave none): compared by position.
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
    await this.ch?.deleteQueue(this.env.amqp.queue).catch(() => undefined);
    await this.ch?.deleteQueue(`${this.env.amqp.queue}.dlq`).catch(() => undefined);
    await this.ch?.deleteExchange(this.env.amqp.exchange).catch(() => undefined);
    await this.ch?.deleteExchange(this.env.outbox.exchange).catch(() => undefined);
    await this.conn?.close().catch(() => undefined);
    await this.db.end().catch(() => undefined);
    const redis = new Redis(this.env.redis.url);
    const keys = await redis.keys(`${this.env.redis.prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

describe('two instances on one queue', () => {
  let main: string;
  const running: ServiceProcess[] = [];
  const deployments: Deployment[] = [];
  const singleDb = `${process.env.TEST_DATABASE_URL!}_single`;

  beforeAll(async () => {
    main = await ensureBuilt();
    // The single instance's own database, migrated like the run's.
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

  const start = async (d: Deployment) => {
    const svc = await ServiceProcess.start(main, d.vars);
    running.push(svc);
    return svc;
  };

  it(`converge to what one instance computes, with a SIGKILL mid-stream (seed ${SEED})`, async () => {
    const messages = randomChangeStream(SEED, { events: EVENTS, customers: CUSTOMERS });
    const chunks = Array.from({ length: 12 }, (_, k) => messages.slice((k * messages.length) / 12, ((k + 1) * messages.length) / 12));

    // The reference: one instance, the stream in order, no fault.
    const single = new Deployment(singleDb);
    deployments.push(single);
    await single.open();
    const one = await start(single);
    await single.publish(messages);
    await single.drained();
    const expected = await single.projection();
    one.kill('SIGTERM');
    await one.exited(20_000);

    // Two instances on one queue; the first is killed with SIGKILL mid-stream and started again.
    const pair = new Deployment(process.env.TEST_DATABASE_URL!);
    deployments.push(pair);
    await pair.open();
    let a = await start(pair);
    const b = await start(pair);
    for (let k = 0; k < chunks.length; k++) {
      await pair.publish(chunks[k]);
      if (k === 4) {
        await new Promise((r) => setTimeout(r, 30));
        a.kill('SIGKILL');
        await a.exited(10_000);
      }
      if (k === 7) a = await start(pair);
      await new Promise((r) => setTimeout(r, 40));
    }
    await pair.drained();
    const actual = await pair.projection();

    expect(actual.records.length).toBeGreaterThan(100);
    expect(actual.customers).toEqual(expected.customers);
    expect(actual.records).toEqual(expected.records);

    // Both instances answer alike, from Redis or PostgreSQL.
    const ids = expected.customers.map((l) => l.split('|')[0]);
    const query = 'query($ids: [ID!]!) { customers(ids: $ids) { id status reason sources { system recordKey status } } }';
    const [fromA, fromB] = await Promise.all([gql(a.url, query, { ids }), gql(b.url, query, { ids })]);
    expect(fromA.errors).toBeUndefined();
    expect(fromA.data).toEqual(fromB.data);

    const verified = await pair.verify();
    const report = JSON.parse(verified.stdout) as { counts: Record<string, number>; customers: number };
    expect(report.counts).toEqual({ status: 0, mapping: 0, liveness: 0, orphan: 0, cache: 0 });
    expect(report.customers).toBeGreaterThanOrEqual(ids.length);
    expect(verified.code).toBe(0);
  }, 240_000);
});

import * as amqp from 'amqplib';
import { Client } from 'pg';
import { EnvConfig } from '@app/config';
import { RunningApp, startApp } from '@app/bootstrap';
import { DebeziumLog, Row, TableRef } from '@app/cdc';
import { testEnv } from './test-env';


/** The reference domain's tables, as Debezium names them. */
export const CRM: TableRef = { topic: 'legacy.crm.customers', connector: 'postgresql', db: 'crm', schema: 'crm', table: 'customers' };
export const BILLING: TableRef = { topic: 'legacy.billing.accounts', connector: 'mysql', db: 'billing', table: 'accounts' };
export const PORTAL: TableRef = { topic: 'legacy.portal.users', connector: 'postgresql', db: 'portal', schema: 'portal', table: 'users' };

/** The whole service (API + consumer) on this machine's real servers, with names of its own. */
export class TestApp {
  readonly log = new DebeziumLog();
  private publisher?: amqp.ChannelModel;
  private channel?: amqp.ConfirmChannel;

  private constructor(
    readonly env: EnvConfig,
    public running: RunningApp,
  ) {}

  static async start(overrides: Record<string, string> = {}): Promise<TestApp> {
    const env = testEnv(overrides);
    // Test files run one after another on the run's database: each starts from empty tables
    // (the rule set is seeded again from the configuration files at start).
    const client = new Client({ connectionString: env.database.url });
    await client.connect();
    // Every table the migrations made (a new one cannot be forgotten), not the migrations' own record.
    const { rows } = await client.query<{ name: string }>(
      `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'migrations'`,
    );
    await client.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')}`);
    await client.end();
    const app = new TestApp(env, await TestApp.startService(env));
    app.publisher = await amqp.connect(env.amqp.url);
    app.channel = await app.publisher.createConfirmChannel();
    return app;
  }

  private static startService(env: EnvConfig): Promise<RunningApp> {
    // TEST_APP_LOGS=1 shows the service's own log while a spec is being debugged.
    return startApp({ api: true, ingest: true }, { env, logger: process.env.TEST_APP_LOGS ? undefined : false });
  }

  /** Stops the service, runs `meanwhile`, and starts it again on the same database and keys (nothing is emptied): a restart. */
  async restart(meanwhile: () => Promise<void> = async () => undefined): Promise<void> {
    await this.running.close();
    await meanwhile();
    this.running = await TestApp.startService(this.env);
  }

  get url(): string {
    return this.running.url;
  }

  get db() {
    return this.running.connections.dataSource;
  }

  get redis() {
    return this.running.connections.redis;
  }

  /** Publishes like Debezium Server's RabbitMQ sink: routing key = topic, body = the value alone. */
  async publish(topic: string, body: Row | string | null): Promise<void> {
    const content = body === null ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel!.publish(this.env.amqp.exchange, topic, content, { persistent: true, contentType: 'application/json' });
    await this.channel!.waitForConfirms();
  }

  async event(t: TableRef, op: 'c' | 'u' | 'd' | 'r', before: Row | null, after: Row | null): Promise<Row> {
    const e = this.log.envelope(t, op, before, after);
    await this.publish(t.topic, e);
    return e;
  }

  /** Messages in the dead-letter queue, taken off it. */
  async drainDeadLetters(): Promise<Array<{ body: string; headers: Record<string, unknown> }>> {
    const out: Array<{ body: string; headers: Record<string, unknown> }> = [];
    for (;;) {
      const m = await this.channel!.get(`${this.env.amqp.queue}.dlq`, { noAck: true });
      if (!m) return out;
      out.push({ body: m.content.toString(), headers: (m.properties.headers ?? {}) as Record<string, unknown> });
    }
  }

  async stop(): Promise<void> {
    const { exchange, queue } = this.env.amqp;
    await this.clearRedis().catch(() => undefined);
    await this.running.close();
    if (this.channel) {
      await this.channel.deleteQueue(queue).catch(() => undefined);
      await this.channel.deleteQueue(`${queue}.dlq`).catch(() => undefined);
      await this.channel.deleteExchange(exchange).catch(() => undefined);
      await this.channel.deleteExchange(this.env.outbox.exchange).catch(() => undefined);
    }
    await this.publisher?.close().catch(() => undefined);
  }

  /** Removes this file's Redis keys (its own prefix). */
  async clearRedis(): Promise<void> {
    const keys = await this.redis.keys(`${this.env.redis.prefix}*`);
    if (keys.length) await this.redis.del(...keys);
  }
}

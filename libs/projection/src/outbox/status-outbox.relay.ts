import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import * as amqp from 'amqplib';
import { setScrapeSource } from '@app/observability';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { REDIS_CLIENT, REDIS_KEYS } from '../cache/customer.cache';
import { RedisKeys } from '../cache/redis-keys';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';
import { StatusChange } from '../customer-view.model';

interface OutboxRow {
  id: string;
  customer_id: string;
  from_status: string | null;
  to_status: string;
  reason: string;
  rule_set_version: number;
  at: Date;
  /** Null for rows written before the column existed. */
  customer_version: string | null;
}

/**
 * The message every canonical status change becomes, on RabbitMQ and on Redis pub/sub: the change
 * as the store reports it. `customerVersion` is null only for changes committed before it existed.
 */
export type StatusChangeMessage = Omit<StatusChange, 'customerVersion'> & { customerVersion: number | null };

const BATCH = 500;
const POLL_MS = 250;

/**
 * Relays the transactional outbox: committed status changes are published to the RabbitMQ topic
 * exchange (routing key = new status, persistent, publisher confirms) and to Redis pub/sub for
 * GraphQL subscriptions, then deleted. Rows are claimed with SKIP LOCKED, so several instances
 * can relay at once. At least once: after a crash between the confirm and the delete a change is
 * published again with the same message id.
 */
@Injectable()
export class StatusOutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('outbox');
  private connection: amqp.ChannelModel | null = null;
  private channel: amqp.ConfirmChannel | null = null;
  private timer?: NodeJS.Timeout;
  private draining: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failures = 0;
  readonly stats = { published: 0, failures: 0 };

  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {}

  onApplicationBootstrap(): void {
    setScrapeSource('outbox', () => this.backlog());
    if (!this.env.outbox.enabled) return;
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining;
    await this.connection?.close().catch(() => undefined);
  }

  /** Relays now (called after a commit that wrote status changes). */
  kick(): void {
    if (this.stopped || !this.env.outbox.enabled) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  async backlog(): Promise<number> {
    const [{ n }] = await this.db.query('SELECT count(*)::int AS n FROM status_outbox');
    return n;
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.relayBatch()) === BATCH);
      this.failures = 0;
    } catch (e) {
      this.stats.failures++;
      if (this.failures++ % 20 === 0) this.logger.warn(`status changes not relayed yet (${(e as Error).message}); retrying`);
      await this.connection?.close().catch(() => undefined);
      this.connection = null;
      this.channel = null;
    }
  }

  private async relayBatch(): Promise<number> {
    return this.db.transaction(async (em) => {
      const rows: OutboxRow[] = await em.query('SELECT * FROM status_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED', [BATCH]);
      if (rows.length === 0) return 0;
      const ch = await this.openChannel();
      const messages = rows.map(toMessage);
      rows.forEach((row, i) => {
        ch.publish(this.env.outbox.exchange, row.to_status, Buffer.from(JSON.stringify(messages[i])), {
          persistent: true,
          contentType: 'application/json',
          messageId: `status-change-${row.id}`,
          timestamp: Math.floor(row.at.getTime() / 1000),
        });
      });
      await ch.waitForConfirms();
      // One PUBLISH per relayed batch (a JSON array), not per change: per-change publishes were the
      // largest cost of ingest in the profile. Subscriptions are live updates, not a log: a Redis
      // outage must not hold back RabbitMQ.
      await this.redis
        .publish(this.keys.statusChannel, JSON.stringify(messages))
        .catch((e: Error) => this.logger.warn(`status changes not fanned out to subscriptions: ${e.message}`));
      await em.query('DELETE FROM status_outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      this.stats.published += rows.length;
      return rows.length;
    });
  }

  private async openChannel(): Promise<amqp.ConfirmChannel> {
    if (this.channel) return this.channel;
    const conn = await amqp.connect(this.env.amqp.url);
    conn.on('error', () => undefined);
    conn.on('close', () => {
      this.connection = null;
      this.channel = null;
    });
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(this.env.outbox.exchange, 'topic', { durable: true });
    this.connection = conn;
    this.channel = ch;
    return ch;
  }
}

function toMessage(r: OutboxRow): StatusChangeMessage {
  return {
    customerId: r.customer_id,
    from: r.from_status,
    to: r.to_status,
    reason: r.reason,
    ruleSetVersion: r.rule_set_version,
    at: r.at.toISOString(),
    customerVersion: r.customer_version === null ? null : Number(r.customer_version),
  };
}

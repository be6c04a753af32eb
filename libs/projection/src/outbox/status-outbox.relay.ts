import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import * as amqp from 'amqplib';
import { backgroundFailed, backgroundSucceeded, outboxParkedTotal, setScrapeSource } from '@app/observability';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { RedisKeys } from '../cache/redis-keys';
import { PROJECTION_DATA_SOURCE, REDIS_CLIENT, REDIS_KEYS } from '../database/projection.tokens';
import { StatusChangeView } from '../customer-view.model';
import { OutboxCompaction } from './outbox-compaction';
import { ScriptTransaction, Statement } from '../store/sql-script';

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
  removed: boolean;
}

/**
 * The message every canonical status change becomes, on RabbitMQ and on Redis pub/sub: the change
 * as the store reports it. `customerVersion` is null only for changes committed before it existed.
 */
export type StatusChangeMessage = StatusChangeView;

const BATCH = 500;
const POLL_MS = 250;
/** RabbitMQ's limit on a routing key (an AMQP short string): the new status, in UTF-8. */
const ROUTING_KEY_BYTES = 255;

/** What /health shows of the outbox. */
export interface OutboxHealth {
  /** Changes that can never be published, set aside in `status_outbox_dead`. */
  parked: number;
  /** The reason of the last one parked. */
  lastParked?: { id: string; error: string; at: string };
  /** Set while this process's relay fails to publish (broker unreachable): the last error. */
  failing?: string;
}

/** A change the broker did not take this time (a nack): it stays in the outbox and is tried again. */
class Unconfirmed {
  constructor(readonly reason: string) {}
}

/**
 * Relays the transactional outbox: committed status changes are published to the RabbitMQ topic
 * exchange (routing key = new status, persistent, publisher confirms) and to Redis pub/sub for
 * GraphQL subscriptions, then deleted. Rows are claimed with SKIP LOCKED, so several instances
 * can relay at once. At least once: after a crash between the confirm and the delete a change is
 * published again with the same message id.
 *
 * One row never holds back the others: a change that can never be published (its routing key is
 * too long for RabbitMQ, or it cannot be encoded: e.g. a status from a rule set stored before such
 * names were refused) is moved to `status_outbox_dead` with its reason, counted, logged and shown
 * in /health; one the broker nacks stays for the next round while the rest of its batch goes on.
 * A lost connection or channel retries the whole batch, as an outage.
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
  private lastFailure?: string;
  readonly stats = { published: 0, failures: 0, parked: 0, nacked: 0 };

  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    private readonly compaction: OutboxCompaction,
  ) {}

  onApplicationBootstrap(): void {
    setScrapeSource('outbox', () => this.backlog());
    setScrapeSource('outboxParked', () => this.parked());
    if (!this.env.outbox.enabled) return;
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
    this.kick();
  }

  /** Parked changes (every instance's) and whether this relay is failing, for /health. */
  async health(): Promise<OutboxHealth> {
    const [row] = await this.db.query(
      `SELECT (SELECT count(*)::int FROM status_outbox_dead) AS parked,
              (SELECT json_build_object('id', id::text, 'error', error, 'at', parked_at) FROM status_outbox_dead ORDER BY parked_at DESC, id DESC LIMIT 1) AS last`,
    );
    const health: OutboxHealth = { parked: row.parked };
    if (row.last) health.lastParked = row.last;
    if (this.lastFailure !== undefined) health.failing = this.lastFailure;
    return health;
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

  async parked(): Promise<number> {
    const [{ n }] = await this.db.query('SELECT count(*)::int AS n FROM status_outbox_dead');
    return n;
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.relayBatch()) === BATCH);
      this.lastFailure = undefined;
    } catch (e) {
      this.stats.failures++;
      this.lastFailure = (e as Error).message;
      // Retried every 250 ms: logged once per 20 failures in a row, all counted.
      backgroundFailed('outbox-relay', e, 'status changes not relayed yet; retrying', 20);
      // The connection is dropped whatever state it is in; closing one already broken fails too.
      await this.connection?.close().catch(() => undefined);
      this.connection = null;
      this.channel = null;
      return;
    }
    if (this.stopped) return;
    // Caught up: what the outbox holds beyond its few live rows is the room of relayed ones.
    try {
      if ((await this.compaction.afterDrain()) === 'compacted') backgroundSucceeded('outbox-compaction');
    } catch (e) {
      backgroundFailed('outbox-compaction', e, 'status_outbox not compacted; trying again after the next drain', 20);
    }
  }

  /**
   * Claims a batch, publishes it, deletes what the broker confirmed and parks what it can never
   * take; returns the rows claimed. Two round trips to PostgreSQL (sql-script): the claim with
   * its transaction's start, the deletes with its commit.
   */
  private async relayBatch(): Promise<number> {
    return ScriptTransaction.within(this.db, async (tx) => {
      const [rows] = (await tx.run([{ sql: 'SELECT * FROM status_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED', params: [BATCH] }])) as OutboxRow[][];
      if (rows.length === 0) return 0;
      const ch = await this.openChannel();
      const parked: Array<{ id: string; error: string }> = [];
      const sent: Array<{ id: string; message: StatusChangeMessage; confirmed: Promise<Unconfirmed | null> }> = [];
      for (const row of rows) {
        try {
          const message = toMessage(row);
          sent.push({ id: row.id, message, confirmed: this.publish(ch, row, message) });
        } catch (e) {
          parked.push({ id: row.id, error: (e as Error).message });
        }
      }
      // Every confirm settles: ack, nack, or the channel closing (which rejects: an outage).
      const outcomes = await Promise.all(sent.map((s) => s.confirmed));
      const confirmed = sent.filter((_, i) => outcomes[i] === null);
      const nacked = outcomes.filter((o): o is Unconfirmed => o !== null);
      if (nacked.length > 0) {
        this.stats.nacked += nacked.length;
        this.logger.warn(`RabbitMQ did not confirm ${nacked.length} status change(s) (${nacked[0].reason}); they stay in the outbox and are tried again`);
      }
      // One PUBLISH per relayed batch (a JSON array), not per change: per-change publishes were the
      // largest cost of ingest in the profile. Subscriptions are live updates, not a log: a Redis
      // outage must not hold back RabbitMQ.
      if (confirmed.length > 0) {
        await this.redis
          .publish(this.keys.statusChannel, JSON.stringify(confirmed.map((s) => s.message)))
          .catch((e: Error) => this.logger.warn(`status changes not fanned out to subscriptions: ${e.message}`));
      }
      await tx.commit([
        ...(parked.length > 0 ? [parkStatement(parked)] : []),
        { sql: 'DELETE FROM status_outbox WHERE id = ANY($1::bigint[])', params: [confirmed.map((s) => s.id)] },
      ]);
      if (parked.length > 0) this.countParked(parked);
      this.stats.published += confirmed.length;
      return rows.length;
    });
  }

  /** Publishes one change; throws when it can never be published (nothing was sent then). */
  private publish(ch: amqp.ConfirmChannel, row: OutboxRow, message: StatusChangeMessage): Promise<Unconfirmed | null> {
    const keyBytes = Buffer.byteLength(row.to_status, 'utf8');
    if (keyBytes > ROUTING_KEY_BYTES) {
      throw new Error(`its routing key (the new status) is ${keyBytes} bytes in UTF-8; RabbitMQ takes at most ${ROUTING_KEY_BYTES}`);
    }
    const content = Buffer.from(JSON.stringify(message));
    let settle!: (outcome: Unconfirmed | null) => void;
    let fail!: (e: Error) => void;
    const confirmed = new Promise<Unconfirmed | null>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    // Outside the promise: amqplib throws, before sending anything, on what it cannot encode, and
    // that must reach the caller as such (the row is parked), not as a failed confirm (an outage).
    ch.publish(
      this.env.outbox.exchange,
      row.to_status,
      content,
      { persistent: true, contentType: 'application/json', messageId: `status-change-${row.id}`, timestamp: Math.floor(row.at.getTime() / 1000) },
      (err: Error | null) => {
        if (err === null) settle(null);
        else if (/nack/i.test(err.message)) settle(new Unconfirmed(err.message));
        else fail(err);
      },
    );
    return confirmed;
  }

  /** Counts and logs changes moved to `status_outbox_dead` (parkStatement), once committed. */
  private countParked(parked: Array<{ id: string; error: string }>): void {
    this.stats.parked += parked.length;
    outboxParkedTotal.inc(parked.length);
    for (const p of parked) {
      this.logger.error(`status change ${p.id} can never be published and is parked in status_outbox_dead: ${p.error}`);
    }
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
    removed: r.removed,
  };
}

/** Moves changes that can never be published to `status_outbox_dead`, with their reasons. */
function parkStatement(parked: Array<{ id: string; error: string }>): Statement {
  return {
    sql: `WITH reasons AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(id, error)),
            moved AS (DELETE FROM status_outbox o USING reasons r WHERE o.id = r.id RETURNING o.*, r.error)
       INSERT INTO status_outbox_dead (id, customer_id, from_status, to_status, reason, rule_set_version, at, customer_version, removed, error)
       SELECT id, customer_id, from_status, to_status, reason, rule_set_version, at, customer_version, removed, error FROM moved`,
    params: [parked.map((p) => p.id), parked.map((p) => p.error)],
  };
}

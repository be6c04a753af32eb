import * as amqp from 'amqplib';
import { consumerLag } from '@app/observability';
import { ChangeSink, MessageVerdict, retryUntilDone } from '../change-sink';
import { ChangeTransport } from '../change-transport';
import { decodeMessages, MessageDecoder } from '../message-decoding';
import { ConsumerProgress } from '../consumer-progress';
import { TransportLogger } from '../transport.logger';

export interface AmqpConsumerOptions {
  url: string;
  exchange: string;
  queue: string;
  /** Binding keys on the topic exchange; the routing key is the Debezium topic name. */
  bindings: string[];
  prefetch: number;
  batchSize: number;
  lingerMs: number;
  retryMaxMs: number;
  /**
   * Batches being applied at once (default 1). With 2, the next batch is decoded and mapped while
   * the previous one commits; the projection's newer-wins positions make the commit order of two
   * batches irrelevant, and acknowledgements still go out in delivery order.
   */
  concurrency?: number;
  /** No progress for this long while messages wait: reported stalled (default 60 s). */
  stallAfterMs?: number;
}

interface Delivery {
  msg: amqp.ConsumeMessage;
  generation: number;
}

export interface ConsumerStats {
  consumed: number;
  deadLettered: number;
  batches: number;
  retries: number;
}

/**
 * Consumes Debezium events from a durable queue bound to a topic exchange (Debezium Server's
 * RabbitMQ sink with routingKey.source=topic). Messages are processed in batches (up to
 * `concurrency` at once); a batch is acknowledged, in delivery order, only after the projection
 * committed it and every batch before it, and undecodable or
 * unmappable messages go to `<queue>.dlq` with their reason before their ack. When the
 * connection drops, unacknowledged messages are redelivered by RabbitMQ and the consumer
 * reconnects by itself.
 */
export class AmqpCdcConsumer implements ChangeTransport {
  readonly dlq: string;
  readonly stats: ConsumerStats = { consumed: 0, deadLettered: 0, batches: 0, retries: 0 };
  readonly progress: ConsumerProgress;
  private connection: amqp.ChannelModel | null = null;
  private channel: amqp.ConfirmChannel | null = null;
  private consumerTag: string | null = null;
  private generation = 0;
  private buffer: Delivery[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  /** Settles batches (dead letters, then the ack) one after the other, in the order they were taken. */
  private ackTail: Promise<void> = Promise.resolve();
  private stopping = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private lagTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: AmqpConsumerOptions,
    private readonly decoder: MessageDecoder,
    private readonly sink: ChangeSink,
    private readonly logger: TransportLogger,
  ) {
    this.dlq = `${options.queue}.dlq`;
    this.progress = new ConsumerProgress(options.stallAfterMs ?? 60_000);
  }

  details(): Record<string, unknown> {
    return {};
  }

  /** True while connected and consuming. */
  get running(): boolean {
    return this.channel !== null && this.consumerTag !== null;
  }

  /** Connects and starts consuming; the first connection failure is thrown to the caller. */
  async start(): Promise<void> {
    this.stopping = false;
    await this.connect();
    // Queue depth as the consumer lag metric; checkQueue on the consuming channel is cheap.
    this.lagTimer = setInterval(() => {
      this.channel
        ?.checkQueue(this.options.queue)
        .then((q) => consumerLag.set({ source: this.options.queue }, q.messageCount))
        .catch(() => undefined);
    }, 5000);
    this.lagTimer.unref();
  }

  /** Stops taking messages, finishes the batch in flight (bounded), and closes the connection. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.lagTimer) clearInterval(this.lagTimer);
    if (this.timer) clearTimeout(this.timer);
    if (this.channel && this.consumerTag) await this.channel.cancel(this.consumerTag).catch(() => undefined);
    this.consumerTag = null;
    if (this.inFlight > 0) {
      await Promise.race([this.ackTail, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    }
    // Buffered messages that were not started stay unacknowledged: closing requeues them.
    this.progress.released(this.buffer.length);
    this.buffer = [];
    const conn = this.connection;
    const ch = this.channel;
    this.connection = null;
    this.channel = null;
    this.generation++;
    // Closing the channel first flushes the acks sent just before: amqplib would otherwise send
    // the connection close ahead of them and RabbitMQ would requeue a batch already committed.
    await ch?.close().catch(() => undefined);
    await conn?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const { url, exchange, queue, bindings, prefetch } = this.options;
    const conn = await amqp.connect(url);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange(exchange, 'topic', { durable: true });
      await ch.assertQueue(queue, { durable: true });
      await ch.assertQueue(this.dlq, { durable: true });
      for (const key of bindings) await ch.bindQueue(queue, exchange, key);
      await ch.prefetch(prefetch);
      const generation = ++this.generation;
      conn.on('error', (e: Error) => this.logger.warn(`RabbitMQ connection error: ${e.message}`));
      conn.on('close', () => this.onClosed(generation));
      ch.on('error', (e: Error) => this.logger.warn(`RabbitMQ channel error: ${e.message}`));
      ch.on('close', () => this.onClosed(generation));
      this.connection = conn;
      this.channel = ch;
      const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(msg, generation), { noAck: false });
      this.consumerTag = consumerTag;
      this.logger.log(`consuming ${queue} (exchange ${exchange}, bindings ${bindings.join(', ')}, prefetch ${prefetch})`);
    } catch (e) {
      await conn.close().catch(() => undefined);
      throw e;
    }
  }

  private onClosed(generation: number): void {
    if (generation !== this.generation || this.stopping) return;
    this.generation++;
    this.channel = null;
    this.consumerTag = null;
    // Buffered messages of the lost channel are redelivered on the next one.
    this.progress.released(this.buffer.length);
    this.buffer = [];
    const conn = this.connection;
    this.connection = null;
    conn?.close().catch(() => undefined);
    this.logger.warn('RabbitMQ connection lost; unacknowledged messages will be redelivered; reconnecting');
    this.scheduleReconnect(250);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopping) return;
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => this.logger.log('RabbitMQ reconnected'),
        (e: Error) => {
          this.logger.warn(`RabbitMQ reconnect failed (${e.message}); retrying in ${delayMs} ms`);
          this.scheduleReconnect(Math.min(delayMs * 2, this.options.retryMaxMs));
        },
      );
    }, delayMs);
  }

  private onMessage(msg: amqp.ConsumeMessage | null, generation: number): void {
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted): treat like a lost connection.
      this.onClosed(generation);
      return;
    }
    this.buffer.push({ msg, generation });
    this.progress.received();
    if (this.buffer.length >= this.options.batchSize) this.kick();
    else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.options.lingerMs);
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const concurrency = Math.max(1, this.options.concurrency ?? 1);
    while (this.buffer.length > 0 && !this.stopping && this.inFlight < concurrency) {
      const taken = this.buffer.splice(0, this.options.batchSize);
      const batch = taken.filter((d) => d.generation === this.generation);
      this.progress.released(taken.length - batch.length);
      if (batch.length === 0) continue;
      this.inFlight++;
      const handled = this.handle(batch);
      this.ackTail = this.ackTail
        .then(async () => this.settle(batch, await handled))
        .catch((e: Error) => this.logger.warn(`settling a batch failed: ${e.message}`))
        .finally(() => {
          this.inFlight--;
          if (this.buffer.length > 0 && !this.stopping) this.kick();
        });
    }
  }

  /** Applies a batch, retrying outages; null when its channel is gone (RabbitMQ redelivers it). */
  private async handle(batch: Delivery[]): Promise<MessageVerdict[] | null> {
    const generation = batch[0].generation;
    // The routing key is the Debezium topic; decoded once, the batch is retried as change events.
    const changes = decodeMessages(
      this.decoder,
      batch.map(({ msg }) => ({ topic: msg.fields.routingKey, value: msg.content, ref: `delivery tag ${msg.fields.deliveryTag}` })),
      this.logger,
    );
    try {
      return await retryUntilDone(() => this.sink.apply(changes), {
        maxDelayMs: this.options.retryMaxMs,
        // Once the channel is gone these messages will be redelivered: stop retrying them here.
        keepGoing: () => generation === this.generation,
        onRetry: (e, attempt, delay) => {
          this.stats.retries++;
          this.progress.failed((e as Error).message);
          if (attempt === 1 || attempt % 10 === 0) {
            this.logger.warn(`batch of ${batch.length} not committed (${(e as Error).message}); consumption paused, retry ${attempt} in ${delay} ms`);
          }
        },
      });
    } catch (e) {
      this.logger.warn(`batch of ${batch.length} dropped from this connection, RabbitMQ will redeliver it: ${(e as Error).message}`);
      return null;
    }
  }

  /** Dead-letters what the sink refused, then acknowledges the batch (and, by `multiple`, none not yet settled). */
  private async settle(batch: Delivery[], verdicts: MessageVerdict[] | null): Promise<void> {
    const ch = this.channel;
    if (verdicts === null || !ch || batch[0].generation !== this.generation) {
      this.progress.released(batch.length);
      return;
    }
    try {
      let deadLettered = 0;
      verdicts.forEach((v, i) => {
        if (v.kind !== 'dead-letter') return;
        const { msg } = batch[i];
        deadLettered++;
        this.logger.warn(`dead-lettered message from topic ${msg.fields.routingKey}, delivery tag ${msg.fields.deliveryTag}: ${v.reason}`);
        ch.sendToQueue(this.dlq, msg.content, {
          persistent: true,
          contentType: msg.properties.contentType,
          headers: {
            ...msg.properties.headers,
            'x-error-code': v.code,
            'x-error-reason': v.reason,
            'x-original-exchange': msg.fields.exchange,
            'x-original-routing-key': msg.fields.routingKey,
          },
        });
      });
      if (deadLettered > 0) await ch.waitForConfirms();
      // Batches settle in delivery order, so one ack covers this batch and nothing after it.
      ch.ack(batch[batch.length - 1].msg, true);
      this.stats.consumed += batch.length;
      this.stats.deadLettered += deadLettered;
      this.stats.batches++;
      this.progress.settled(batch.length);
    } catch (e) {
      this.progress.released(batch.length);
      this.logger.warn(`could not acknowledge a committed batch (${(e as Error).message}); it will be redelivered and skipped as duplicates`);
    }
  }
}

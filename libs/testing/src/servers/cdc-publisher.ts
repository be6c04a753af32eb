import * as amqp from 'amqplib';
import { DebeziumLog, Row, TableRef } from '@app/cdc';

/** Publishes change events like Debezium Server's RabbitMQ sink; survives a broker restart with `reconnect()`. */
export class CdcPublisher {
  readonly log = new DebeziumLog();
  private conn: amqp.ChannelModel | null = null;
  private ch: amqp.ConfirmChannel | null = null;

  constructor(
    private readonly url: string,
    private readonly exchange: string,
  ) {}

  async connect(): Promise<this> {
    const conn = await amqp.connect(this.url);
    // A broker going away must not become an uncaught 'error' in the test process.
    conn.on('error', () => undefined);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
    this.conn = conn;
    this.ch = ch;
    return this;
  }

  async reconnect(): Promise<void> {
    await this.close();
    await this.connect();
  }

  /** Publishes and waits for the broker's confirms, once for all. */
  async events(list: ReadonlyArray<[TableRef, 'c' | 'u' | 'd' | 'r', Row | null, Row | null]>): Promise<void> {
    const ch = this.ch!;
    for (const [t, op, before, after] of list) {
      ch.publish(this.exchange, t.topic, Buffer.from(JSON.stringify(this.log.envelope(t, op, before, after))), {
        persistent: true,
        contentType: 'application/json',
      });
    }
    await ch.waitForConfirms();
  }

  /** Messages ready in a queue (not delivered to a consumer, or delivered and given back). */
  async ready(queue: string): Promise<{ messages: number; consumers: number }> {
    const q = await this.ch!.checkQueue(queue);
    return { messages: q.messageCount, consumers: q.consumerCount };
  }

  get channel(): amqp.ConfirmChannel {
    return this.ch!;
  }

  async close(): Promise<void> {
    await this.conn?.close().catch(() => undefined);
    this.conn = null;
    this.ch = null;
  }
}

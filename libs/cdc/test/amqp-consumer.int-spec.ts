import * as amqp from 'amqplib';
import { AmqpCdcConsumer, ChangeSink, InboundChange, MessageDecoder, MessageVerdict } from '@app/cdc';
import { testEnv, waitFor } from '@app/testing';

/**
 * The RabbitMQ consumer with two batches in flight, against the real broker. The handler is a
 * stand-in for the projection that lets the test decide when each batch finishes.
 */
describe('AmqpCdcConsumer with CDC_CONCURRENCY 2', () => {
  const env = testEnv();
  const { url, exchange, queue } = env.amqp;
  const silent = { log: () => undefined, debug: () => undefined, warn: () => undefined, error: () => undefined };
  let connection: amqp.ChannelModel;
  let channel: amqp.Channel;

  beforeAll(async () => {
    connection = await amqp.connect(url);
    channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, '#');
  });
  afterAll(async () => {
    await channel.deleteQueue(queue);
    await channel.deleteQueue(`${queue}.dlq`);
    await channel.deleteExchange(exchange);
    await connection.close();
  });

  /** Carries each message's body through as the "system" of a change, so that the stand-in sees which message is which. */
  const decoder: MessageDecoder = {
    decode: (m) => ({ kind: 'truncate', system: String(m.value), position: { kind: 'ts', key: '0', text: 'ts_ms:0', tsMs: null } }),
  };
  const bodyOf = (c: InboundChange): string => (c.kind === 'event' ? c.event.system : '');

  /** A sink whose batches finish when the test says so, recording which started and finished when. */
  class Gate implements ChangeSink {
    readonly started: string[][] = [];
    readonly finished: string[][] = [];
    private readonly releases: Array<() => void> = [];

    async apply(batch: readonly InboundChange[]): Promise<MessageVerdict[]> {
      const values = batch.map(bodyOf);
      this.started.push(values);
      await new Promise<void>((r) => this.releases.push(r));
      this.finished.push(values);
      return batch.map(() => ({ kind: 'done' }));
    }

    release(n: number): void {
      this.releases[n]();
    }
  }

  // Batches close by size (5) well before the linger: their boundaries do not depend on timing.
  const consumer = (sink: ChangeSink) =>
    new AmqpCdcConsumer({ ...env.amqp, bindings: ['#'], batchSize: 5, lingerMs: 2000, retryMaxMs: 100, prefetch: 100, concurrency: 2 }, decoder, sink, silent);
  const publish = (from: number, n: number) => {
    for (let i = from; i < from + n; i++) channel.publish(exchange, 'legacy.crm.customers', Buffer.from(`m${i}`), { persistent: true });
  };
  const ready = async () => (await channel.checkQueue(queue)).messageCount;

  it('applies the next batch while one is in flight, but acknowledges neither until the first is done', async () => {
    const gate = new Gate();
    const c = consumer(gate);
    await c.start();
    publish(0, 10);
    await waitFor(async () => gate.started.length === 2, 'two batches started at once');
    gate.release(1);
    await waitFor(async () => gate.finished.length === 1, 'the second batch done');
    expect(gate.finished[0]).toEqual(['m5', 'm6', 'm7', 'm8', 'm9']);

    // Cut off now (a crash): the second batch committed, but as the first did not, nothing was
    // acknowledged and RabbitMQ redelivers all ten.
    await c.stop(50);
    await waitFor(async () => (await ready()) === 10, 'all ten messages back in the queue');

    const again = new Gate();
    const d = consumer(again);
    await d.start();
    await waitFor(async () => again.started.length === 2, 'the redelivered batches');
    again.release(0);
    again.release(1);
    await waitFor(async () => again.finished.length === 2, 'both done');
    await d.stop();
    expect(again.started.flat().sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'].sort());
    expect(await ready()).toBe(0);
  });

  it('acknowledges in delivery order when the later batch finishes first, and takes more once one is done', async () => {
    const gate = new Gate();
    const c = consumer(gate);
    await c.start();
    publish(10, 15);
    await waitFor(async () => gate.started.length === 2, 'two batches started');
    gate.release(1);
    gate.release(0);
    await waitFor(async () => gate.started.length === 3, 'the third batch started once a slot was free');
    gate.release(2);
    await waitFor(async () => gate.finished.length === 3, 'all three done');
    await c.stop();
    // Stopping requeues whatever is unacknowledged: nothing is.
    await new Promise((r) => setTimeout(r, 200));
    expect(await ready()).toBe(0);
    expect(gate.started.flat()).toEqual(Array.from({ length: 15 }, (_, i) => `m${10 + i}`));
  });
});

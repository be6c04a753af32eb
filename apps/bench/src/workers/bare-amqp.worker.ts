import * as amqp from 'amqplib';
import { serverUrls } from '../bench.env';
import { ConsumedTimeline, now } from './app.worker';
import { RssSampler, Worker } from './worker.protocol';

export interface BareAmqpArgs {
  queue: string;
  prefetch: number;
  batchSize: number;
  lingerMs: number;
  target: number;
}

/**
 * The ingest reference: an amqplib consumer that does nothing but acknowledge, with the service's
 * prefetch and one `ack(multiple)` per batch like the service. Its rate is what RabbitMQ and
 * amqplib allow on this machine.
 */
export async function bareAmqpWorker(raw: unknown): Promise<Worker> {
  const args = raw as BareAmqpArgs;
  const rss = new RssSampler();
  const conn = await amqp.connect(serverUrls().amqp);
  const ch = await conn.createChannel();
  await ch.prefetch(args.prefetch);
  let consumed = 0;
  let batches = 0;
  let unacked: amqp.ConsumeMessage | null = null;
  let inBatch = 0;
  let timer: NodeJS.Timeout | null = null;
  let firstAt = 0;
  let firstCount = 0;
  let doneAt = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));

  const ack = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!unacked) return;
    ch.ack(unacked, true);
    consumed += inBatch;
    batches++;
    unacked = null;
    inBatch = 0;
    if (firstAt === 0) {
      firstAt = now();
      firstCount = consumed;
    }
    if (consumed >= args.target && doneAt === 0) {
      doneAt = now();
      done();
    }
  };
  await ch.consume(
    args.queue,
    (msg) => {
      if (!msg) return;
      unacked = msg;
      inBatch++;
      if (inBatch >= args.batchSize) ack();
      else if (!timer) timer = setTimeout(ack, args.lingerMs);
    },
    { noAck: false },
  );

  return {
    info: null,
    async handle(cmd) {
      if (cmd !== 'wait') throw new Error(`unknown command ${cmd}`);
      await finished;
      const timeline: ConsumedTimeline = { firstAt, firstCount, doneAt, consumed, deadLettered: 0, batches, retries: 0, peakRssBytes: rss.peak };
      return timeline;
    },
    async stop() {
      rss.stop();
      await conn.close().catch(() => undefined);
    },
  };
}

import { Kafka, logLevel } from 'kafkajs';
import { ConsumedTimeline, now } from './app.worker';
import { RssSampler, Worker } from './worker.protocol';

export interface BareKafkaArgs {
  brokers: string[];
  groupId: string;
  topics: string[];
  /** Messages per commit, as the service commits per chunk of CDC_BATCH_SIZE. */
  batchSize: number;
  /** Partitions consumed at once, as the service's CDC_CONCURRENCY. */
  concurrency: number;
  target: number;
}

/**
 * The Kafka ingest reference: a kafkajs consumer group that does nothing but commit offsets, with
 * the service's settings (eachBatch, no auto-commit, one commit per chunk of `batchSize`, the same
 * partitions at once). Its rate is what the mock cluster and kafkajs allow on this machine.
 */
export async function bareKafkaWorker(raw: unknown): Promise<Worker> {
  const args = raw as BareKafkaArgs;
  const rss = new RssSampler();
  const kafka = new Kafka({
    clientId: 'statusview-bench-bare',
    brokers: args.brokers,
    logLevel: logLevel.ERROR,
    logCreator: () => (e) => process.stderr.write(`bare-kafka: ${e.namespace}: ${e.log.message}\n`),
  });
  const consumer = kafka.consumer({ groupId: args.groupId });
  let consumed = 0;
  let batches = 0;
  let firstAt = 0;
  let firstCount = 0;
  let doneAt = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.connect();
  await consumer.subscribe({ topics: args.topics, fromBeginning: true });
  rss.reset();
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: args.concurrency,
    eachBatch: async ({ batch, commitOffsetsIfNecessary, resolveOffset, heartbeat, isRunning }) => {
      const { messages, topic, partition } = batch;
      for (let start = 0; start < messages.length && isRunning(); start += args.batchSize) {
        const chunk = messages.slice(start, start + args.batchSize);
        const last = chunk[chunk.length - 1].offset;
        await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(last) + 1n).toString() }] }] });
        resolveOffset(last);
        consumed += chunk.length;
        batches++;
        if (firstAt === 0) {
          firstAt = now();
          firstCount = consumed;
        }
        if (consumed >= args.target && doneAt === 0) {
          doneAt = now();
          done();
        }
        await heartbeat();
      }
    },
  });

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
      await consumer.disconnect();
    },
  };
}

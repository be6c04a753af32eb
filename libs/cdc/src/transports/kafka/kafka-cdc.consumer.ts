import { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer, TopicPartitionOffsetAndMetadata } from 'kafkajs';
import { consumerLag } from '@app/observability';
import { ChangeBatchHandler, InboundMessage, retryUntilDone } from '../change-batch.handler';
import { ConsumerProgress } from '../consumer-progress';
import { TransportLogger } from '../transport.logger';

export interface KafkaConsumerOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  topics: string[];
  dlqTopic: string;
  batchSize: number;
  retryMaxMs: number;
  /** No progress for this long while messages wait: reported stalled (default 60 s). */
  stallAfterMs?: number;
}

/** What the batch handler needs from kafkajs besides the payload: where to commit and dead-letter. */
export interface KafkaSinks {
  commit(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void>;
  deadLetter(messages: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }>): Promise<void>;
}

/**
 * The Kafka side of the same projection path: a consumer group over the Debezium topics, fed
 * through `eachBatch`. Offsets are committed by hand, only after the projection committed the
 * messages before them; bad messages go to the dead-letter topic first.
 */
export class KafkaBatchHandler {
  constructor(
    private readonly options: Pick<KafkaConsumerOptions, 'batchSize' | 'retryMaxMs' | 'dlqTopic'>,
    private readonly handler: ChangeBatchHandler,
    private readonly sinks: KafkaSinks,
    private readonly logger: TransportLogger,
    readonly progress: ConsumerProgress = new ConsumerProgress(60_000),
  ) {}

  async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    this.progress.received(batch.messages.length);
    let settled = 0;
    try {
      await this.eachChunk(payload, (n) => {
        settled += n;
        this.progress.settled(n);
      });
    } finally {
      // What was not settled (stopping, a rebalance, an error) is delivered again to the partition's next owner.
      this.progress.released(batch.messages.length - settled);
    }
  }

  private async eachChunk(payload: EachBatchPayload, settled: (count: number) => void): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const stopped = () => !isRunning() || isStale();
    consumerLag.set({ source: `${topic}[${partition}]` }, Number(batch.offsetLag()));
    for (let start = 0; start < batch.messages.length; start += this.options.batchSize) {
      if (stopped()) return;
      const chunk = batch.messages.slice(start, start + this.options.batchSize);
      const inbound: InboundMessage[] = chunk.map((m) => ({ topic, value: m.value, ref: `${topic}[${partition}]@${m.offset}` }));
      let verdicts;
      try {
        verdicts = await retryUntilDone(() => this.handler.handle(inbound), {
          maxDelayMs: this.options.retryMaxMs,
          keepGoing: () => !stopped(),
          whileWaiting: heartbeat,
          onRetry: (e, attempt, delay) => {
            this.progress.failed((e as Error).message);
            if (attempt === 1 || attempt % 10 === 0) {
              this.logger.warn(`${topic}[${partition}] batch not committed (${(e as Error).message}); paused, retry ${attempt} in ${delay} ms`);
            }
          },
        });
      } catch (e) {
        // Stopping during an outage: nothing was committed, the next owner of the partition redelivers.
        if (stopped()) return;
        throw e;
      }
      const dead = verdicts.flatMap((v, i) => (v.kind === 'dead-letter' ? [{ v, m: chunk[i] }] : []));
      if (dead.length > 0) {
        for (const { v, m } of dead) this.logger.warn(`dead-lettered message from topic ${topic}, partition ${partition}, offset ${m.offset}: ${v.reason}`);
        await this.sinks.deadLetter(dead.map(({ v, m }) => ({ key: m.key, value: m.value, headers: this.headers(topic, partition, m, v.code, v.reason) })));
      }
      // After the last chunk, commit past the batch's last offset: on transactional topics a
      // control record can follow the last message, and lag would never reach zero otherwise.
      const isLast = start + this.options.batchSize >= batch.messages.length;
      const last = isLast ? batch.lastOffset() : chunk[chunk.length - 1].offset;
      resolveOffset(last);
      await this.sinks.commit([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
      settled(chunk.length);
      await heartbeat();
    }
    if (batch.messages.length === 0 && !stopped() && BigInt(batch.lastOffset()) >= 0n) {
      // A batch of control records only.
      resolveOffset(batch.lastOffset());
      await this.sinks.commit([{ topic, partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
    }
  }

  private headers(topic: string, partition: number, m: KafkaMessage, code: string, reason: string): Record<string, string> {
    return {
      'x-error-code': code,
      'x-error-reason': reason,
      'x-original-topic': topic,
      'x-original-partition': String(partition),
      'x-original-offset': m.offset,
    };
  }
}

/** Runs a kafkajs consumer group with `KafkaBatchHandler`. Needs a broker: not exercised on machines without one. */
export class KafkaCdcConsumer {
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private started = false;
  readonly progress: ConsumerProgress;

  constructor(
    private readonly options: KafkaConsumerOptions,
    private readonly handler: ChangeBatchHandler,
    private readonly logger: TransportLogger,
  ) {
    this.kafka = new Kafka({ clientId: options.clientId, brokers: options.brokers });
    this.progress = new ConsumerProgress(options.stallAfterMs ?? 60_000);
  }

  get running(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.options.groupId });
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
    const batchHandler = new KafkaBatchHandler(
      this.options,
      this.handler,
      {
        commit: (offsets) => consumer.commitOffsets(offsets),
        deadLetter: async (messages) => {
          await producer.send({ topic: this.options.dlqTopic, acks: -1, messages });
        },
      },
      this.logger,
      this.progress,
    );
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => batchHandler.eachBatch(p) });
    this.consumer = consumer;
    this.producer = producer;
    this.started = true;
    this.logger.log(`consuming ${this.options.topics.join(', ')} as group ${this.options.groupId}`);
  }

  /** kafkajs finishes the batch in flight on disconnect. */
  async stop(): Promise<void> {
    this.started = false;
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}

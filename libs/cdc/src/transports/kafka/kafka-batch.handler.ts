import { EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import { ChangeBatchHandler, InboundMessage, MessageVerdict, retryUntilDone } from '../change-batch.handler';
import { ConsumerProgress } from '../consumer-progress';
import { TransportLogger } from '../transport.logger';
import { chunksOf, deadLetterHeaders, nextOffset } from './kafka-offsets';

export interface DeadLetterMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** Counted as the RabbitMQ consumer counts them (the benchmarks read both the same way). */
export interface KafkaConsumerStats {
  consumed: number;
  deadLettered: number;
  batches: number;
  retries: number;
}

/**
 * One fetched batch of one partition through the projection path, in chunks of `batchSize`:
 * each chunk is applied (outages retried, heartbeating meanwhile so the group keeps this member),
 * its refused messages are written to the dead-letter topic, and only then is the offset after
 * it committed. Chunks of a partition go one after the other, so a committed offset never
 * covers a message whose chunk did not commit.
 */
export class KafkaBatchHandler {
  constructor(
    private readonly options: { batchSize: number; retryMaxMs: number },
    private readonly handler: ChangeBatchHandler,
    private readonly deadLetter: (messages: DeadLetterMessage[]) => Promise<void>,
    private readonly logger: TransportLogger,
    private readonly stats: KafkaConsumerStats,
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
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const { topic, partition } = batch;
    const where = `${topic}[${partition}]`;
    // Stopping (disconnect) or the partition's position moved (seek): leave the rest uncommitted.
    const stopped = () => !isRunning() || isStale();
    const chunks = chunksOf(batch.messages, this.options.batchSize);
    for (let k = 0; k < chunks.length; k++) {
      if (stopped()) return;
      const chunk = chunks[k];
      const startedAt = Date.now();
      let outcome: 'committed' | 'abandoned' | 'failed' = 'failed';
      let dead = 0;
      try {
        const applied = await this.apply(topic, partition, chunk, stopped, heartbeat);
        if (applied === null) {
          outcome = 'abandoned';
          return;
        }
        dead = applied;
        // After the last chunk, commit past the batch's last offset: on transactional topics a
        // control record can follow the last message, and the lag would never reach zero otherwise.
        const last = k === chunks.length - 1 ? batch.lastOffset() : chunk[chunk.length - 1].offset;
        try {
          // The consumer group's own commit (not consumer.commitOffsets, which skips it once the
          // consumer is stopping): the chunk in flight at SIGTERM is committed before leaving.
          await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: nextOffset(last) }] }] });
        } catch (e) {
          // A rebalance took the partition (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, ...): its next
          // owner redelivers the chunk, which then changes nothing (newer-wins positions).
          this.logger.warn(`${where} offset ${nextOffset(last)} not committed (${(e as Error).message}); the chunk will be redelivered`);
          throw e;
        }
        resolveOffset(last);
        settled(chunk.length);
        outcome = 'committed';
        this.stats.consumed += chunk.length;
        this.stats.deadLettered += dead;
        this.stats.batches++;
      } finally {
        // One line per chunk whatever became of it: which member applied which offsets, and when.
        this.logger.debug({
          msg: 'kafka chunk',
          outcome,
          topic,
          partition,
          firstOffset: chunk[0].offset,
          lastOffset: chunk[chunk.length - 1].offset,
          messages: chunk.length,
          deadLettered: dead,
          startedAt,
          endedAt: Date.now(),
        });
      }
      await heartbeat();
    }
  }

  /**
   * Applies one chunk, retrying outages, and dead-letters what the projection refused. Returns how
   * many were dead-lettered, or null when the consumer stopped during an outage (nothing committed:
   * the partition's next owner redelivers the chunk).
   */
  private async apply(
    topic: string,
    partition: number,
    chunk: readonly KafkaMessage[],
    stopped: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<number | null> {
    const where = `${topic}[${partition}]`;
    const inbound: InboundMessage[] = chunk.map((m) => ({ topic, value: m.value, ref: `${where}@${m.offset}` }));
    let verdicts: MessageVerdict[];
    try {
      verdicts = await retryUntilDone(() => this.handler.handle(inbound), {
        maxDelayMs: this.options.retryMaxMs,
        keepGoing: () => !stopped(),
        // Also notices a rebalance (it throws): the partition may be another member's by now.
        whileWaiting: heartbeat,
        onRetry: (e, attempt, delay) => {
          this.stats.retries++;
          this.progress.failed((e as Error).message);
          if (attempt === 1 || attempt % 10 === 0) {
            this.logger.warn(`${where} batch not committed (${(e as Error).message}); paused, retry ${attempt} in ${delay} ms`);
          }
        },
      });
    } catch (e) {
      if (stopped()) return null;
      throw e;
    }
    const dead: DeadLetterMessage[] = [];
    verdicts.forEach((v, i) => {
      if (v.kind !== 'dead-letter') return;
      const m = chunk[i];
      this.logger.warn(`dead-lettered message from topic ${topic}, partition ${partition}, offset ${m.offset}: ${v.reason}`);
      dead.push({ key: m.key, value: m.value, headers: { ...m.headers, ...deadLetterHeaders({ topic, partition, offset: m.offset }, v.code, v.reason) } });
    });
    if (dead.length > 0) await this.deadLetter(dead);
    return dead.length;
  }
}

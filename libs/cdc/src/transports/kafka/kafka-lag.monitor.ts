import { Admin } from 'kafkajs';
import { consumerLag } from '@app/observability';
import { TransportLogger } from '../transport.logger';
import { partitionLags } from './kafka-offsets';

/** The consumer group's lag as last measured, for `/health`. */
export interface KafkaLagSnapshot {
  /** Messages not yet committed by the group, summed over every partition. */
  total: number;
  /** Per partition, keyed `topic[partition]` like the metric's `source` label. */
  partitions: Record<string, number>;
  measuredAt: string | null;
  /** Why the last measurement failed, if it did (the numbers are then the previous ones). */
  error?: string;
}

/**
 * Measures the group's lag every `intervalMs`: the high watermark of every partition of the
 * consumed topics minus the offset the group committed there (admin ListOffsets and OffsetFetch),
 * so it counts what is not committed by any member, partitions of other members and of dead
 * ones included. Every instance therefore reports the same numbers: aggregate with max, not sum.
 */
export class KafkaLagMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private last: KafkaLagSnapshot = { total: 0, partitions: {}, measuredAt: null };

  constructor(
    private readonly admin: Admin,
    private readonly groupId: string,
    private readonly topics: readonly string[],
    private readonly intervalMs: number,
    private readonly logger: TransportLogger,
  ) {}

  get snapshot(): KafkaLagSnapshot {
    return this.last;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.measure(), this.intervalMs);
    this.timer.unref();
    void this.measure();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One measurement (at most one at a time); failures are logged and shown in the snapshot. */
  measure(): Promise<void> {
    this.running ??= this.measureOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async measureOnce(): Promise<void> {
    try {
      const committed = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [...this.topics] });
      const partitions: Record<string, number> = {};
      let total = 0;
      for (const topic of this.topics) {
        const marks = await this.admin.fetchTopicOffsets(topic);
        const ofTopic = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const { partition, lag } of partitionLags(marks, ofTopic)) {
          const source = `${topic}[${partition}]`;
          partitions[source] = lag;
          total += lag;
          consumerLag.set({ source }, lag);
        }
      }
      this.last = { total, partitions, measuredAt: new Date().toISOString() };
    } catch (e) {
      const error = (e as Error).message;
      if (this.last.error !== error) this.logger.warn(`Kafka consumer lag not measured: ${error}`);
      this.last = { ...this.last, error };
    }
  }
}

import { ConsumerProgress } from './consumer-progress';

/** What the consumer service needs of any transport: start, stop, and whether it makes progress. */
export interface ChangeTransport {
  readonly running: boolean;
  readonly progress: ConsumerProgress;
  /** Connects and starts handing change events to the sink; the first connection failure is thrown. */
  start(): Promise<void>;
  /** Stops taking messages, finishes the batch in flight (bounded), closes. */
  stop(): Promise<void>;
  /** What /health shows of it besides up or down (Kafka: lag, partitions, crashes). */
  details(): Record<string, unknown>;
}

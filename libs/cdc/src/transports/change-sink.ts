import { ChangeEvent, DecodeError, SourceCheckpoint, TruncateEvent } from '@app/change-events';
import { SkipReason } from '../debezium/debezium-json.decoder';

/**
 * A change as every transport hands it to the ingest use case: a decoded change event, a message
 * that carries none (a tombstone, a heartbeat), or one that cannot be decoded and why. `ref` says
 * where it came from, for logs: `delivery tag 17`, `legacy.crm.customers[0]@4711`, `lsn 0/16B3748`.
 */
export type InboundChange =
  | { kind: 'event'; event: ChangeEvent | TruncateEvent; ref: string }
  | { kind: 'skip'; reason: SkipReason; ref: string }
  | { kind: 'undecodable'; code: string; reason: string; ref: string; withdraw?: ChangeEvent };

/** The change a DecodeError stands for: dead-lettered with its reason, and its record withdrawn when it names one (see DecodeError.withdraw). */
export function undecodableChange(e: DecodeError, ref: string): InboundChange {
  return e.withdraw ? { kind: 'undecodable', code: e.code, reason: e.message, ref, withdraw: e.withdraw } : { kind: 'undecodable', code: e.code, reason: e.message, ref };
}

export type MessageVerdict = { kind: 'done' } | { kind: 'dead-letter'; code: string; reason: string };

/**
 * The one ingest use case behind every transport: one verdict per change, or a throw when the
 * batch could not be committed (a store or cache outage, a failure that is not about the events):
 * the transport then acknowledges nothing and retries the same batch until it succeeds.
 */
export interface ChangeSink {
  apply(batch: readonly InboundChange[], options?: ApplyOptions): Promise<MessageVerdict[]>;
}

export interface ApplyOptions {
  /**
   * A source without a broker (the binlog) keeps its position in the projection's store: this
   * checkpoint is committed with the batch (also an empty one), never before nor without it.
   */
  checkpoint?: SourceCheckpoint;
}

/** Retries `fn` with capped exponential backoff until it succeeds or `keepGoing` turns false. */
export async function retryUntilDone<T>(
  fn: () => Promise<T>,
  opts: {
    maxDelayMs: number;
    keepGoing: () => boolean;
    onRetry: (error: unknown, attempt: number, delayMs: number) => void;
    /** Runs while waiting (e.g. a Kafka heartbeat, so the group keeps the consumer during an outage). */
    whileWaiting?: () => Promise<void>;
  },
): Promise<T> {
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!opts.keepGoing()) throw e;
      opts.onRetry(e, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
      await opts.whileWaiting?.();
      delay = Math.min(delay * 2, opts.maxDelayMs);
    }
  }
}

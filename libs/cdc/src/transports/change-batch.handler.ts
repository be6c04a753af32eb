/** One message as any transport hands it to the projection path. */
export interface InboundMessage {
  topic: string;
  value: Buffer | null;
  /** Where it came from, for logs: `delivery tag 17` or `legacy.crm.customers[0]@4711`. */
  ref: string;
}

export type MessageVerdict = { kind: 'done' } | { kind: 'dead-letter'; code: string; reason: string };

/**
 * The projection path behind every transport. It returns one verdict per message, or throws when
 * the batch could not be committed (a store or cache outage): the transport then acknowledges
 * nothing and retries the same batch until it succeeds.
 */
export interface ChangeBatchHandler {
  handle(batch: readonly InboundMessage[]): Promise<MessageVerdict[]>;
}

export const CHANGE_BATCH_HANDLER = Symbol('CHANGE_BATCH_HANDLER');

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

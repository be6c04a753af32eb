/**
 * The arithmetic of Kafka offsets the consumer relies on, kept pure so that it is unit-tested
 * apart from the broker. Offsets are decimal strings on the wire (int64); BigInt keeps them exact.
 */

/** The offset to commit after `last` was processed: Kafka's committed offset is the next one to read. */
export function nextOffset(last: string): string {
  return (BigInt(last) + 1n).toString();
}

/** Consecutive slices of at most `size` items, in order. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, not ${size}`);
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

export interface PartitionWatermarks {
  partition: number;
  /** The log end offset (next offset to be written). */
  high: string;
  /** The log start offset (oldest offset still kept). */
  low: string;
}

export interface PartitionLag {
  partition: number;
  lag: number;
}

/**
 * Messages of each partition the group has not committed: high watermark minus the committed
 * offset. A partition without a committed offset (`-1`) counts from the log start, where this
 * consumer (`fromBeginning`) starts; a committed offset below the log start (retention removed
 * messages) also counts from there, and one above the high watermark (the topic was recreated)
 * counts as no lag.
 */
export function partitionLags(watermarks: readonly PartitionWatermarks[], committed: ReadonlyArray<{ partition: number; offset: string }>): PartitionLag[] {
  const byPartition = new Map(committed.map((c) => [c.partition, BigInt(c.offset)]));
  return watermarks
    .map(({ partition, high, low }) => {
      const from = byPartition.get(partition) ?? -1n;
      const start = from < BigInt(low) ? BigInt(low) : from;
      const lag = BigInt(high) - start;
      return { partition, lag: lag > 0n ? Number(lag) : 0 };
    })
    .sort((a, b) => a.partition - b.partition);
}

/** The headers a dead-lettered message carries: why it was refused and where it came from. */
export function deadLetterHeaders(from: { topic: string; partition: number; offset: string }, code: string, reason: string): Record<string, string> {
  return {
    'x-error-code': code,
    'x-error-reason': reason,
    'x-original-topic': from.topic,
    'x-original-partition': String(from.partition),
    'x-original-offset': from.offset,
  };
}

/** What /health and /metrics say about a consumer's progress. */
export interface ConsumerProgressReport {
  /** Messages received and not settled yet: buffered, or in a batch being applied or retried. */
  waiting: number;
  /** How long messages have been waiting with no batch settled; 0 while none waits. */
  stalledForMs: number;
  /** True once `stalledForMs` reached the configured CDC_STALL_AFTER_MS. */
  stalled: boolean;
  /** Why the last attempt to apply a batch failed, until a batch settles. */
  lastError: string | null;
}

/**
 * Tracks whether a consumer makes progress while messages wait. A transport reports what it
 * receives, what it settles (committed and acknowledged, or dead-lettered) and what it lets go
 * without settling (a lost channel, whose messages the broker redelivers). The clock for a stall
 * starts when messages start waiting or at the last settled batch, whichever is later, so that an
 * idle consumer is never stalled and a busy one is as soon as it stops settling.
 */
export class ConsumerProgress {
  private waiting = 0;
  /** When the current stretch without progress began; meaningful while messages wait. */
  private since: number;
  private lastError: string | null = null;

  constructor(
    private readonly stallAfterMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.since = clock();
  }

  received(count = 1): void {
    if (count <= 0) return;
    if (this.waiting === 0) this.since = this.clock();
    this.waiting += count;
  }

  /** A batch was settled: progress. */
  settled(count: number): void {
    this.waiting = Math.max(0, this.waiting - count);
    this.since = this.clock();
    this.lastError = null;
  }

  /** Messages given up without settling them (the broker redelivers them): not progress. */
  released(count: number): void {
    this.waiting = Math.max(0, this.waiting - count);
  }

  /** An attempt to apply a batch failed and will be retried. */
  failed(reason: string): void {
    this.lastError = reason;
  }

  report(): ConsumerProgressReport {
    const stalledForMs = this.waiting > 0 ? Math.max(0, this.clock() - this.since) : 0;
    return { waiting: this.waiting, stalledForMs, stalled: this.waiting > 0 && stalledForMs >= this.stallAfterMs, lastError: this.lastError };
  }
}

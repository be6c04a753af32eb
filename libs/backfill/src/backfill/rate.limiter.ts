/**
 * Caps rows per second to protect the legacy database: after each batch it sleeps until the
 * rows read so far fit the rate. Sleeping is cut short by `signal` so Ctrl-C stays prompt.
 */
export class RateLimiter {
  private readonly startedAt = Date.now();
  private rows = 0;

  constructor(private readonly rowsPerSecond: number | null) {}

  /** Batches no larger than one second's worth, so the rate holds at small values too. */
  batchSize(wanted: number): number {
    return this.rowsPerSecond === null ? wanted : Math.max(1, Math.min(wanted, Math.floor(this.rowsPerSecond)));
  }

  async took(rows: number, signal?: AbortSignal): Promise<void> {
    this.rows += rows;
    if (this.rowsPerSecond === null) return;
    const due = this.startedAt + (this.rows / this.rowsPerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait, signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

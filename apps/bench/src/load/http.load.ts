import autocannon from 'autocannon';

export interface HttpLoadOptions {
  url: string;
  connections: number;
  durationS: number;
  method: 'GET' | 'POST';
  /** Requests per second over all connections (autocannon's overallRate); as fast as they answer when absent. */
  overallRate?: number;
  /** The next request's path and/or body (a random id, say). */
  next: () => { path?: string; body?: string };
}

export interface HttpLoadResult {
  requests: number;
  requestsPerSec: number;
  /** Latency percentiles in ms, from every 2xx response (autocannon's own histogram keeps whole ms only). */
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  non2xx: number;
  durationS: number;
}

/** Runs autocannon at a fixed concurrency; latencies are kept exactly from its `response` events. */
export function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationS,
        pipelining: 1,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        method: options.method,
        headers: { 'content-type': 'application/json' },
        requests: [
          {
            setupRequest: (req) => {
              const n = options.next();
              return { ...req, ...(n.path !== undefined ? { path: n.path } : {}), ...(n.body !== undefined ? { body: n.body } : {}) };
            },
          },
        ],
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const sorted = Float64Array.from(latencies).sort();
        const total = result['2xx'] + result.non2xx;
        resolve({
          requests: total,
          requestsPerSec: total / result.duration,
          p50: percentile(sorted, 0.5),
          p90: percentile(sorted, 0.9),
          p99: percentile(sorted, 0.99),
          errors: result.errors,
          non2xx: result.non2xx,
          durationS: result.duration,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

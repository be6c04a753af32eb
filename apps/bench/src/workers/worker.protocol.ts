/**
 * What runs under measurement runs in a child process of its own (a "worker"), one at a time or
 * side by side: the service, the bare references, the load generator stays in the parent. So each
 * gets its own event loop, its own RSS, and can be profiled with --cpu-prof on its own.
 */

export type WorkerRole = 'app' | 'bare-amqp' | 'bare-kafka' | 'projection' | 'bare-http' | 'naive-graphql' | 'rules' | 'delay-proxy';

export interface WorkerRequest {
  id: number;
  cmd: string;
  args?: unknown;
}

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** A running worker's side: `start` built it from its arguments, then commands until `stop`. */
export interface Worker {
  readonly info: unknown;
  handle(cmd: string, args: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export type WorkerFactory = (args: unknown) => Promise<Worker>;

/** Samples the process's resident set size; `peak` is the highest seen. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  reset(): void {
    this.peak = 0;
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

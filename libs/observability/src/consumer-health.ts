/** What a process's change consumer tells /health and /metrics, without the health check loading the transports. */
export interface ConsumerHealth {
  readonly running: boolean;
  /** The transports not consuming now, each named (with its last error): said when `running` is false. */
  stopped(): string[];
  progress(): { waiting: number; stalledForMs: number; stalled: boolean; lastError: string | null };
  /** What the transport shows besides up or down (Kafka: lag, partitions, crashes). */
  details(): Record<string, unknown>;
}

/** Provided by the ingest module in a process that consumes; absent in an API-only process. */
export const CONSUMER_HEALTH = Symbol('CONSUMER_HEALTH');

import { ChangeEventFactory, SourceCheckpoint, SourcePosition } from '@app/change-events';
import { EnvConfig, SourceSystem } from '@app/config';
import { ChangeSink } from '../transports/change-sink';
import { ChangeTransport } from '../transports/change-transport';
import { TransportLogger } from '../transports/transport.logger';

/** What a source without a broker could not project: kept in PostgreSQL with why, for an operator. */
export interface DeadLetterEntry {
  /** The system it came from. */
  source: string;
  /** Where in the source's log (an lsn, a binlog file:pos). */
  ref: string;
  code: string;
  reason: string;
  /** The row or change as it arrived, as JSON. */
  payload: unknown;
}

/** Where a direct source dead-letters: there is no broker to hand it to. */
export interface DeadLetterSink {
  put(entries: readonly DeadLetterEntry[]): Promise<void>;
}

/** Where a direct source that keeps no position of its own (the binlog) finds the one it committed last. */
export interface CheckpointReader {
  last(source: string): Promise<SourceCheckpoint | null>;
  /**
   * The newest position of this kind the projection holds for a system's records and truncates
   * (written by any path, e.g. Debezium before a switch to direct), or null.
   */
  newestRecorded(system: string, kind: SourcePosition['kind']): Promise<SourcePosition | null>;
}

/** Everything a direct source (a replication stream, a binlog) needs to hand change events over. */
export interface DirectSourceContext {
  env: EnvConfig;
  system: SourceSystem;
  /** The connection URL from the system's `connection.urlEnv`. */
  url: string;
  events: ChangeEventFactory;
  sink: ChangeSink;
  deadLetters: DeadLetterSink;
  /** The checkpoints committed with its batches (`ChangeSink.apply(batch, { checkpoint })`). */
  checkpoints: CheckpointReader;
  logger: TransportLogger;
}

/** A direct source of one system: started, stopped and watched like a message transport. */
export type DirectSourceFactory = (ctx: DirectSourceContext) => ChangeTransport;

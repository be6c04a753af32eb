import { DirectSourceFactory, mysqlBinlogSource, PostgresDirectSource } from '@app/cdc';
import { SourceConnection } from '@app/config';

/**
 * The direct sources by dialect: a system configured with `changes: direct` is read straight from
 * its database (PostgreSQL's logical replication, MySQL's binlog) by the factory of its
 * connection's dialect. A dialect with no entry here cannot be read directly: the service says
 * so at start.
 */
export const DIRECT_SOURCES: Partial<Record<SourceConnection['dialect'], DirectSourceFactory>> = {
  postgres: (ctx) => new PostgresDirectSource(ctx),
  mysql: mysqlBinlogSource,
};

/** Injection token of the store direct sources dead-letter into (a table in PostgreSQL). */
export const DEAD_LETTER_SINK = Symbol('DEAD_LETTER_SINK');

/** Injection token of where direct sources read the checkpoint they committed last (a table in PostgreSQL). */
export const CHECKPOINT_READER = Symbol('CHECKPOINT_READER');

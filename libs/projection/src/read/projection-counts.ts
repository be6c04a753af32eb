/**
 * For tools that watch the projection over a plain connection (the benchmarks): the statements
 * live here with the tables they read.
 */

/** Rows of the outbox, the history and the customers, in one statement: `{ outbox, history, customers }` as text. */
export const PROJECTION_COUNTS_SQL =
  'SELECT (SELECT count(*) FROM status_outbox) AS outbox, (SELECT count(*) FROM status_history) AS history, (SELECT count(*) FROM customer) AS customers';

/** The active rule set version: `{ version }`. */
export const ACTIVE_VERSION_SQL = 'SELECT version FROM active_rule_set';

/** Customers stored: `{ n }`. */
export const CUSTOMER_COUNT_SQL = 'SELECT count(*)::int AS n FROM customer';

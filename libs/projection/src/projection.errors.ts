export type ProjectionErrorCode = 'UNMAPPABLE' | 'STORE_UNAVAILABLE' | 'CACHE_UNAVAILABLE';

export class ProjectionError extends Error {
  constructor(
    readonly code: ProjectionErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

const TRANSIENT_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/**
 * True for failures that heal by themselves (a server down or restarting, a deadlock, a
 * serialization failure): the batch is retried as a whole and nothing is acknowledged meanwhile.
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof ProjectionError) return e.code === 'STORE_UNAVAILABLE' || e.code === 'CACHE_UNAVAILABLE';
  const err = e as { code?: unknown; message?: unknown; driverError?: unknown } | null;
  if (!err) return false;
  if (err.driverError) return isTransient(err.driverError);
  const code = typeof err.code === 'string' ? err.code : '';
  if (TRANSIENT_NET.has(code)) return true;
  // 08: connection exception, 57P: operator intervention (admin shutdown), 53: insufficient resources,
  // 40001 serialization failure, 40P01 deadlock.
  if (/^(08|57P|53)/.test(code) || code === '40001' || code === '40P01') return true;
  const msg = typeof err.message === 'string' ? err.message : '';
  return /Connection terminated|connection is closed|Connection is closed|timeout exceeded when trying to connect|Client has encountered a connection error|MaxRetriesPerRequest|ECONNREFUSED|socket hang up|Stream isn't writeable/i.test(
    msg,
  );
}

/**
 * True when one event is to blame for the refusal and can be isolated, dead-lettered, and the rest
 * applied: PostgreSQL refused the data itself (class 22 data exception, e.g. a NUL or a lone
 * surrogate in jsonb, a value out of range; 23 integrity violation; 54 program limit exceeded,
 * e.g. an index row too large or a value nested too deep for its stack), or Node refused a value
 * while preparing it (a RangeError: an invalid date, a structure too deep to serialize). Anything
 * else (a permission, a missing table, a bug in a statement, an error of our own code) would
 * refuse every event alike, so dead-lettering them would only empty the queue: the batch is
 * retried instead, and the consumer shows as stalled until it is fixed.
 */
export function isDataError(e: unknown): boolean {
  if (e instanceof RangeError) return true;
  const code = sqlStateOf(e);
  return code !== null && /^(22|23|54)/.test(code);
}

/** PostgreSQL's SQLSTATE of an error, also when TypeORM wraps the driver's error; null for any other error. */
export function sqlStateOf(e: unknown): string | null {
  const err = e as { code?: unknown; driverError?: unknown; severity?: unknown } | null;
  if (!err || typeof err !== 'object') return null;
  if (err.driverError) return sqlStateOf(err.driverError);
  // The driver's DatabaseError carries a severity; a Node error code (EPIPE) has none.
  return typeof err.code === 'string' && typeof err.severity === 'string' ? err.code : null;
}

/** One line for logs, health and dead-letter reasons: the SQLSTATE or the error's class, and its message. */
export function describeFailure(e: unknown): string {
  const code = sqlStateOf(e);
  if (code) return `PostgreSQL ${code}: ${(e as Error).message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

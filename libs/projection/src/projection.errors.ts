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
 * True when PostgreSQL refused the data itself (class 22 data exception, 23 integrity violation):
 * one event is to blame and can be isolated. Anything else (a bug in a statement, a permission)
 * would refuse every event alike, so dead-lettering them would only empty the queue.
 */
export function isDataError(e: unknown): boolean {
  const err = e as { code?: unknown; driverError?: unknown } | null;
  if (!err) return false;
  if (err.driverError) return isDataError(err.driverError);
  return typeof err.code === 'string' && /^(22|23)/.test(err.code);
}

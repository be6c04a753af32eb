export type BackfillErrorCode =
  | 'UNKNOWN_SYSTEM'
  | 'NO_CONNECTION'
  | 'URL_MISSING'
  | 'UNREACHABLE'
  | 'TABLE_MISSING'
  | 'KEY_COLUMN_MISSING'
  | 'BAD_OPTION'
  | 'PROJECTION_FAILED';

/**
 * A backfill or reconcile that cannot start or go on. The message is one line meant for a person
 * (it names the system, the variable or the table); the CLI prints it and exits non-zero.
 */
export class BackfillError extends Error {
  constructor(
    readonly code: BackfillErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Rows per page (default 5000), checked: a page of 0 or 1.5 rows would never end. */
export function pageSize(batchSize: number | undefined): number {
  const size = batchSize ?? 5000;
  if (!Number.isInteger(size) || size < 1) throw new BackfillError('BAD_OPTION', `batch size must be a positive integer, got ${size}`);
  return size;
}

/** Hides a password in a URL before it is printed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** The first line of a driver error, with its code: enough to tell "refused" from "no such database". */
export function describeCause(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message.split('\n')[0] : String(e);
  return code && !message.includes(code) ? `${code}: ${message}` : message || code || 'unknown error';
}

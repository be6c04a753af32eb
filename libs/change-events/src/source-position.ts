import { DecodeError } from './change-event.errors';
import { SourcePosition } from './change-event.model';

/**
 * The largest value each part of a position may take: what its zero-padded field in the key holds
 * (so that keys of one kind compare right as text), and for lsn and pos what the source can send
 * (PostgreSQL's LSN and MySQL's binlog offset are unsigned 64-bit). ts_ms is also a JavaScript
 * date (and a PostgreSQL timestamptz): 8.64e15 ms is the last instant a Date holds.
 */
const U64_MAX = '18446744073709551615';
const LIMITS = {
  lsn: { width: 20, max: U64_MAX },
  pos: { width: 20, max: U64_MAX },
  row: { width: 8, max: '99999999' },
  file: { width: 12, max: '999999999999' },
  ts_ms: { width: 20, max: '8640000000000000' },
} as const;
type Part = keyof typeof LIMITS;

const DIGITS = /^\d+$/;
const MAX_FILE_NAME = 255;

/**
 * A position part as the exact digits of a non-negative integer (no leading zeros), or null when it
 * is absent. A JSON number is taken only as a safe integer: JSON.parse already rounded anything
 * bigger, and a rounded position sorts wrongly against the real ones around it. A digit string is
 * taken exactly, never through Number. Anything else is a DecodeError naming the field.
 */
function digitsOf(value: unknown, part: Part, field: string): string | null {
  if (value === null || value === undefined) return null;
  const { max } = LIMITS[part];
  let digits: string;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      const why = Number.isInteger(value) && value > 0 ? `beyond 2^53, where a JSON number is no longer exact (send it as a string)` : 'not a non-negative integer';
      throw new DecodeError('BAD_POSITION', `bad position: ${field} ${String(value)} is ${why}`);
    }
    digits = String(value);
  } else if (typeof value === 'string' && DIGITS.test(value)) {
    digits = value.length > 1 && value.charCodeAt(0) === 0x30 ? value.replace(/^0+(?=\d)/, '') : value;
  } else {
    throw new DecodeError('BAD_POSITION', `bad position: ${field} ${describe(value)} is not a non-negative integer`);
  }
  // Digit strings without leading zeros compare as numbers do: by length, then as text.
  if (digits.length > max.length || (digits.length === max.length && digits > max)) {
    throw new DecodeError('BAD_POSITION', `bad position: ${field} ${digits.slice(0, 40)}${digits.length > 40 ? '…' : ''} is larger than ${max}`);
  }
  return digits;
}

/** A value for an error message, short whatever its size. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return '(an array)';
  return typeof value === 'object' ? '(an object)' : String(value);
}

const pad = (digits: string, part: Part): string => digits.padStart(LIMITS[part].width, '0');

/**
 * Reads the position from a Debezium `source` block (or the flattened `__source_*` fields). The key
 * keeps its zero-padded layout (20 digits for lsn and ts, file:pos:row for binlog), so keys stored
 * before compare right with new ones; a part that does not fit it is a DecodeError.
 */
export function positionOf(source: Record<string, unknown>, eventTsMs: unknown, where = 'source'): SourcePosition {
  const ts = digitsOf(source.ts_ms, 'ts_ms', `${where}.ts_ms`) ?? digitsOf(eventTsMs, 'ts_ms', 'ts_ms');
  const tsMs = ts === null ? null : Number(ts);
  const lsn = digitsOf(source.lsn, 'lsn', `${where}.lsn`);
  if (lsn !== null) return { kind: 'lsn', key: pad(lsn, 'lsn'), text: `lsn:${lsn}`, tsMs };
  const pos = digitsOf(source.pos, 'pos', `${where}.pos`);
  // A binlog file name is short (mysql-bin.000003); a bound keeps the suffix match below linear.
  if (source.file !== null && source.file !== undefined && (typeof source.file !== 'string' || source.file.length > MAX_FILE_NAME)) {
    throw new DecodeError('BAD_POSITION', `bad position: ${where}.file ${describe(source.file)} is not a binlog file name`);
  }
  const file = source.file ?? null;
  if (file !== null && pos !== null) {
    const row = digitsOf(source.row, 'row', `${where}.row`) ?? '0';
    // mysql-bin.000003 → 3; files rotate with an increasing numeric suffix.
    const fileNo = digitsOf(/(\d+)$/.exec(file)?.[1] ?? '0', 'file', `the number of ${where}.file`) ?? '0';
    return { kind: 'binlog', key: `${pad(fileNo, 'file')}:${pad(pos, 'pos')}:${pad(row, 'row')}`, text: `${file}:${pos}:${row}`, tsMs };
  }
  return { kind: 'ts', key: pad(ts ?? '0', 'ts_ms'), text: `ts_ms:${ts ?? '0'}`, tsMs };
}

/**
 * True when `incoming` is strictly newer than `stored`. Positions of one kind compare by key; of
 * different kinds (a connector switched, or a backfilled row) by source time, newer wins.
 */
export function isNewer(incoming: SourcePosition, stored: { kind: string; key: string; tsMs: number | null }): boolean {
  if (incoming.kind === stored.kind) return incoming.key > stored.key;
  return (incoming.tsMs ?? 0) > (stored.tsMs ?? 0);
}

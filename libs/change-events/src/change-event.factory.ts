import { CdcLimits, CustomerKeyStep, DEFAULT_CDC_LIMITS, SourcesConfig, SourceSystem } from '@app/config';
import { DecodeError } from './change-event.errors';
import { ChangeEvent, SourcePosition, TruncateEvent } from './change-event.model';
import { normalizeRow } from './field-normalizer';
import { exceedsDepth } from './json-depth';

type Json = Record<string, unknown>;

/**
 * Builds the product's change events from a source row, whatever carried it (a Debezium message,
 * a replication stream, the binlog, a backfill read of the table): the record key and the
 * normalized customer key from the system's configured columns, the fields brought to their
 * configured types. Everything the store and the code after it cannot take is refused here as a
 * DecodeError with its reason, so that it is dead-lettered rather than retried: a key that is not
 * a scalar or is longer than the limit, a row nested deeper than the limit.
 */
export class ChangeEventFactory {
  private readonly normalizeKey: (raw: unknown) => string | null;

  constructor(
    sources: SourcesConfig,
    readonly limits: Readonly<CdcLimits> = DEFAULT_CDC_LIMITS,
  ) {
    this.normalizeKey = customerKeyNormalizer(sources.customerKey.normalize);
  }

  /**
   * A row's change: `raw` is the row after the change (`before` for a delete, which may hold only
   * the record key: PostgreSQL's default replica identity), as JSON values.
   */
  change(system: SourceSystem, op: ChangeEvent['op'], raw: Json, position: SourcePosition): ChangeEvent {
    const deleted = op === 'd';
    const recordKey = this.recordKey(system, raw);
    const customerId = this.normalizeKey(checkedKey(raw[system.customerKey], `customer key "${system.customerKey}"`));
    if (customerId === null && !deleted) {
      // The record is no customer's any more (its key was emptied, say): it leaves the customer it
      // had, as a delete of the record would, and the row is dead-lettered for someone to fix.
      const keyOnly = Object.fromEntries(system.recordKey.map((col) => [col, raw[col]]));
      const withdraw: ChangeEvent = { kind: 'change', system: system.name, op: 'd', recordKey, deleted: true, customerId: null, raw: keyOnly, row: normalizeRow(system.fields, keyOnly), position };
      throw new DecodeError('NO_USABLE_ROW', `no usable row: customer key "${system.customerKey}" is missing or empty`, withdraw);
    }
    if (customerId !== null) this.checkLength(customerId, `customer key "${system.customerKey}"`);
    const row = normalizeRow(system.fields, raw);
    return { kind: 'change', system: system.name, op, recordKey, deleted, customerId, raw, row, position };
  }

  /** A row that did not come as a message (a replication stream, a table read): also checked for depth. */
  changeOfRow(system: SourceSystem, op: ChangeEvent['op'], raw: Json, position: SourcePosition): ChangeEvent {
    const { maxDepth } = this.limits;
    if (exceedsDepth(raw, maxDepth)) throw new DecodeError('TOO_DEEP', `nested deeper than CDC_MAX_DEPTH (${maxDepth})`);
    return this.change(system, op, raw, position);
  }

  truncate(system: SourceSystem, position: SourcePosition): TruncateEvent {
    return { kind: 'truncate', system: system.name, position };
  }

  private recordKey(system: SourceSystem, raw: Json): string {
    const parts = system.recordKey.map((col) => checkedKey(raw[col], `record key column "${col}"`));
    const missing = system.recordKey.filter((_, i) => parts[i] === null || parts[i] === undefined);
    if (missing.length) {
      throw new DecodeError('NO_USABLE_ROW', `no usable row: record key column ${missing.map((m) => `"${m}"`).join(', ')} missing`);
    }
    const key = parts.length === 1 ? String(parts[0]) : JSON.stringify(parts);
    this.checkLength(key, system.recordKey.length === 1 ? `record key column "${system.recordKey[0]}"` : 'record key');
    return key;
  }

  /** A key is a primary key and an index entry in PostgreSQL, whose btree refuses an entry over 2704 bytes. */
  private checkLength(key: string, what: string): void {
    const max = this.limits.maxKeyLength;
    if (key.length > max) throw new DecodeError('KEY_TOO_LONG', `${what} is ${key.length} characters, longer than CDC_MAX_KEY_LENGTH (${max})`);
  }
}

/**
 * A key column's value if it can be a key: a string, a boolean, or a number that is exact (an integer
 * beyond 2^53 was rounded by JSON.parse, so two records would share one key). Objects and arrays
 * would all become "[object Object]" or a joined list, one key for many records. Null and
 * undefined pass: the caller decides whether a missing key is allowed.
 */
function checkedKey(value: unknown, what: string): unknown {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
      throw new DecodeError('BAD_KEY', `${what} is ${value}, beyond 2^53 where a JSON number is no longer exact (send it as a string)`);
    }
    return value;
  }
  const kind = Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  throw new DecodeError('BAD_KEY', `${what} is ${kind}: expected a string, a number or a boolean`);
}

/** The configured normalization of customer keys (trim, upper, lower), the same for every source and for GraphQL ids. */
export function customerKeyNormalizer(steps: CustomerKeyStep[]): (raw: unknown) => string | null {
  return (raw) => {
    if (raw === null || raw === undefined) return null;
    let s = String(raw);
    for (const step of steps) s = step === 'trim' ? s.trim() : step === 'upper' ? s.toUpperCase() : s.toLowerCase();
    return s === '' ? null : s;
  };
}

import { CdcLimits, CustomerKeyStep, DEFAULT_CDC_LIMITS, SourcesConfig, SourceSystem } from '@app/config';
import { DecodeError } from '../cdc.errors';
import { ChangeEvent, ChangeOp, DecodedMessage, RawMessage, SkippedMessage, SourcePosition } from './change-event.model';
import { normalizeRow } from './field-normalizer';
import { exceedsDepth } from './json-depth';
import { positionOf } from './source-position';

type Json = Record<string, unknown>;

const TOMBSTONE: SkippedMessage = { kind: 'skip', reason: 'tombstone' };
const OPS = new Set<ChangeOp>(['c', 'u', 'd', 'r', 't']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decodes Debezium change events in all three forms without configuration: the plain envelope,
 * the envelope inside `{schema, payload}`, and ExtractNewRecordState's flattened row.
 *
 * Everything the store and the code after the decoder cannot take is refused here, as a
 * DecodeError with its reason, so that it is dead-lettered rather than retried: a message larger or
 * deeper than the limits, a position that is not an exact integer its key can hold, a key that is
 * not a scalar or is longer than the limit.
 */
export class ChangeEventDecoder {
  private readonly byTopic: Map<string, SourceSystem>;
  private readonly normalizeKey: (raw: unknown) => string | null;

  constructor(
    sources: SourcesConfig,
    private readonly limits: Readonly<CdcLimits> = DEFAULT_CDC_LIMITS,
  ) {
    this.byTopic = new Map(sources.systems.map((s) => [s.topic, s]));
    this.normalizeKey = customerKeyNormalizer(sources.customerKey.normalize);
  }

  decode(message: RawMessage): DecodedMessage {
    const { value } = message;
    if (value === null || value === undefined || value.length === 0) return TOMBSTONE;
    const { maxMessageBytes, maxDepth } = this.limits;
    // A string's UTF-8 size is at least its length and at most three times it: counted only in between.
    const bytes = typeof value !== 'string' ? value.length : value.length * 3 <= maxMessageBytes ? 0 : Buffer.byteLength(value);
    if (bytes > maxMessageBytes) {
      throw new DecodeError('TOO_LARGE', `message of ${bytes} bytes is larger than CDC_MAX_MESSAGE_BYTES (${maxMessageBytes})`);
    }
    const text = typeof value === 'string' ? value : value.toString('utf8');
    // Debezium Server's RabbitMQ and Redis sinks send a tombstone as the string "default".
    if (text === 'default') return TOMBSTONE;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new DecodeError('NOT_JSON', `not JSON: ${(e as Error).message}`);
    }
    if (exceedsDepth(doc, maxDepth)) throw new DecodeError('TOO_DEEP', `nested deeper than CDC_MAX_DEPTH (${maxDepth})`);
    if (doc === null) return TOMBSTONE;
    if (!isObject(doc)) throw new DecodeError('NOT_DEBEZIUM', 'not a Debezium message: expected a JSON object');
    if ('schema' in doc && 'payload' in doc) {
      if (doc.payload === null) return TOMBSTONE;
      if (!isObject(doc.payload)) throw new DecodeError('NOT_DEBEZIUM', 'not a Debezium message: "payload" is not an object');
      doc = doc.payload;
    }
    const body = doc as Json;

    const skip = this.skipReason(message.topic, body);
    if (skip) return { kind: 'skip', reason: skip };

    const system = this.byTopic.get(message.topic);
    if (!system) throw new DecodeError('UNKNOWN_TOPIC', `no source is configured for topic "${message.topic}"`);

    if (typeof body.op === 'string' && ('after' in body || 'before' in body || body.op === 't')) {
      return this.fromEnvelope(system, body);
    }
    return this.fromFlattened(system, body);
  }

  /**
   * A row that came from the source table itself rather than as a message (a backfill reads the
   * table): decoded as the envelope with this op, row (`after`, or `before` for a delete) and
   * position would be, without writing and parsing that envelope. `row` must hold JSON values.
   */
  decodeRow(system: SourceSystem, op: 'r' | 'd', row: Json, position: SourcePosition): ChangeEvent {
    return this.event(system, op, row, op === 'd', position);
  }

  private skipReason(topic: string, body: Json): SkippedMessage['reason'] | undefined {
    // Recognized by their own keys, so that a row with a column named `status` or `ddl` is never skipped.
    if ('tableChanges' in body || ('ddl' in body && 'databaseName' in body)) return 'schema-change';
    if ((body.status === 'BEGIN' || body.status === 'END') && 'id' in body && ('event_count' in body || 'data_collections' in body)) {
      return 'transaction';
    }
    if (topic.startsWith('__debezium-heartbeat')) return 'heartbeat';
    const keys = Object.keys(body);
    if (keys.length === 1 && keys[0] === 'ts_ms') return 'heartbeat';
    return undefined;
  }

  private fromEnvelope(system: SourceSystem, body: Json): DecodedMessage {
    const op = body.op as ChangeOp;
    if (!OPS.has(op)) throw new DecodeError('UNKNOWN_OP', `unknown op "${String(body.op)}"`);
    const source = isObject(body.source) ? body.source : {};
    const position = positionOf(source, body.ts_ms);
    if (op === 't') return { kind: 'truncate', system: system.name, position };
    const deleted = op === 'd';
    const raw = deleted ? body.before : body.after;
    if (!isObject(raw)) {
      throw new DecodeError('NO_USABLE_ROW', `no usable row: op "${op}" without "${deleted ? 'before' : 'after'}"`);
    }
    return this.event(system, op, raw, deleted, position);
  }

  private fromFlattened(system: SourceSystem, body: Json): DecodedMessage {
    const raw: Json = {};
    const meta: Json = {};
    for (const [k, v] of Object.entries(body)) {
      if (k.startsWith('__')) meta[k.slice(2)] = v;
      else raw[k] = v;
    }
    const deleted = meta.deleted === true || meta.deleted === 'true' || meta.op === 'd';
    const opMeta = typeof meta.op === 'string' ? meta.op : undefined;
    if (opMeta !== undefined && !OPS.has(opMeta as ChangeOp)) throw new DecodeError('UNKNOWN_OP', `unknown op "${opMeta}"`);
    // `__source_lsn` with add.fields=source.lsn, `__lsn` with add.fields=lsn.
    const source: Json = {};
    for (const f of ['lsn', 'file', 'pos', 'row', 'ts_ms']) source[f] = meta[`source_${f}`] ?? meta[f];
    const position = positionOf(source, meta.ts_ms, '__source');
    if (opMeta === 't') return { kind: 'truncate', system: system.name, position };
    const op = deleted ? 'd' : ((opMeta as Exclude<ChangeOp, 't'>) ?? 'r');
    return this.event(system, op, raw, deleted, position);
  }

  private event(system: SourceSystem, op: ChangeEvent['op'], raw: Json, deleted: boolean, position: ChangeEvent['position']): ChangeEvent {
    const recordKey = this.recordKey(system, raw);
    const customerId = this.normalizeKey(checkedKey(raw[system.customerKey], `customer key "${system.customerKey}"`));
    if (customerId === null && !deleted) {
      throw new DecodeError('NO_USABLE_ROW', `no usable row: customer key "${system.customerKey}" is missing or empty`);
    }
    if (customerId !== null) this.checkLength(customerId, `customer key "${system.customerKey}"`);
    const row = normalizeRow(system.fields, raw);
    return { kind: 'change', system: system.name, op, recordKey, deleted, customerId, raw, row, position };
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

export function customerKeyNormalizer(steps: CustomerKeyStep[]): (raw: unknown) => string | null {
  return (raw) => {
    if (raw === null || raw === undefined) return null;
    let s = String(raw);
    for (const step of steps) s = step === 'trim' ? s.trim() : step === 'upper' ? s.toUpperCase() : s.toLowerCase();
    return s === '' ? null : s;
  };
}

import { ChangeEvent, ChangeEventFactory, ChangeOp, DecodeError, exceedsDepth, positionOf, SourcePosition, TruncateEvent } from '@app/change-events';
import { CdcLimits, DEFAULT_CDC_LIMITS, SourcesConfig, SourceSystem } from '@app/config';

type Json = Record<string, unknown>;

export type SkipReason = 'tombstone' | 'heartbeat' | 'schema-change' | 'transaction';

export interface SkippedMessage {
  kind: 'skip';
  reason: SkipReason;
}

export type DecodedMessage = ChangeEvent | TruncateEvent | SkippedMessage;

/** One message as a broker hands it over: the topic (or routing key) and the value's bytes. */
export interface RawMessage {
  topic: string;
  value: Buffer | string | null;
}

const TOMBSTONE: SkippedMessage = { kind: 'skip', reason: 'tombstone' };
const OPS = new Set<ChangeOp>(['c', 'u', 'd', 'r', 't']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Debezium's default `unavailable.value.placeholder`. */
export const DEFAULT_UNAVAILABLE_VALUE = '__debezium_unavailable_value';

/** A value that is the placeholder: as a scalar, or (an unchanged TOASTed array) as an array's only element. */
function isPlaceholder(value: unknown, forms: ReadonlySet<string>): boolean {
  if (typeof value === 'string') return forms.has(value);
  return Array.isArray(value) && value.length === 1 && typeof value[0] === 'string' && forms.has(value[0]);
}

/**
 * The Debezium JSON decoder: change events in all three forms without configuration, the plain
 * envelope, the envelope inside `{schema, payload}`, and ExtractNewRecordState's flattened row.
 *
 * Everything the store and the code after the decoder cannot take is refused, as a DecodeError
 * with its reason, so that it is dead-lettered rather than retried: a message larger or deeper than
 * the limits, a position that is not an exact integer its key can hold, and (by the change-event
 * factory) a key that is not a scalar or is longer than the limit.
 */
export class DebeziumJsonDecoder {
  private readonly byTopic: Map<string, SourceSystem>;
  private readonly events: ChangeEventFactory;
  private readonly placeholders = new Map<string, ReadonlySet<string>>();

  constructor(
    sources: SourcesConfig,
    private readonly limits: Readonly<CdcLimits> = DEFAULT_CDC_LIMITS,
  ) {
    this.byTopic = new Map(sources.systems.map((s) => [s.topic, s]));
    this.events = new ChangeEventFactory(sources, limits);
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
    if (op === 't') return this.events.truncate(system, position);
    const deleted = op === 'd';
    const raw = deleted ? body.before : body.after;
    if (!isObject(raw)) {
      throw new DecodeError('NO_USABLE_ROW', `no usable row: op "${op}" without "${deleted ? 'before' : 'after'}"`);
    }
    return this.change(system, op, raw, position);
  }

  /**
   * A change whose columns Debezium sent as its unavailable-value placeholder (unchanged TOASTed
   * values under the default replica identity) is a change without them: they are left out of
   * the row and named `unchanged`, so that the stored values stand, as on the direct path.
   */
  private change(system: SourceSystem, op: Exclude<ChangeOp, 't'>, raw: Json, position: SourcePosition): ChangeEvent {
    if (op === 'd') return this.events.change(system, op, raw, position);
    const forms = this.placeholderForms(system);
    let unchanged: string[] | undefined;
    for (const [column, value] of Object.entries(raw)) {
      if (isPlaceholder(value, forms)) (unchanged ??= []).push(column);
    }
    if (!unchanged) return this.events.change(system, op, raw, position);
    const whole = { ...raw };
    for (const column of unchanged) delete whole[column];
    return { ...this.events.change(system, op, whole, position), unchanged };
  }

  /** The placeholder as Debezium writes it: the text, and a binary column's bytes of it as base64 or hex. */
  private placeholderForms(system: SourceSystem): ReadonlySet<string> {
    const text = system.unavailableValue ?? DEFAULT_UNAVAILABLE_VALUE;
    let forms = this.placeholders.get(text);
    if (!forms) {
      const bytes = Buffer.from(text, 'utf8');
      forms = new Set([text, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')]);
      this.placeholders.set(text, forms);
    }
    return forms;
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
    if (opMeta === 't') return this.events.truncate(system, position);
    const op = deleted ? 'd' : ((opMeta as Exclude<ChangeOp, 't'>) ?? 'r');
    return this.change(system, op, raw, position);
  }
}

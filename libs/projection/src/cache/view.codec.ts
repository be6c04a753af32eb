import { createHash } from 'node:crypto';
import { FieldType, SourcesConfig } from '@app/config';
import { CustomerView, SourceStatusView } from '../customer-view.model';

/**
 * The body of a cached view (format 2): one JSON array, read with one `JSON.parse`, holding only
 * what the read path answers and nothing it can derive:
 *
 *   [status, reason, statusSince, updatedAt, ruleSetVersion, ...sources]
 *
 * - the id is the key and the version is in the entry's header: neither is in the body;
 * - `reason` is `0` when it is the status in lower case (the usual case), else the text;
 * - `statusSince` is seconds since 2020 (EPOCH_MS), `updatedAt` ms after it (a string instead when a date would not come back as the same text);
 * - a source is `[system, recordKey, status, rule, values, position, sourceTimestamp]` where
 *   `system` is its index among the configured systems; `values` the raw fields' values in
 *   jsonb's key order of the system's configured fields (the names are configuration, not data;
 *   a `string` field equal to the customer id is `0`, a `timestamp` field's ISO text and a
 *   `timestamp-millis` or `-micros` field's number are seconds since 2020), or the raw fields as an object when they are not the configured ones;
 *   `recordKey` the index of the raw value it is the text of (else the text); `status` `0` when it
 *   is the customer's; `rule` without the `<system>` in front when it has it (it then starts with
 *   `-`); `sourceTimestamp` ms after `updatedAt`, left out when it is `updatedAt`, or null;
 * - a source that would not decode to exactly what PostgreSQL gives (other fields than the configured
 *   ones, integers beyond 2^53, integer-like keys, `1.0`, an unknown system, ...) is kept as it is:
 *   the view's own object with the raw fields as jsonb text. Every source is decoded once when it
 *   is encoded and compared, so that check is the decoder itself, not a list of cases.
 *
 * The raw text is rebuilt as PostgreSQL's `jsonb::text` writes it (`{"a": 1, "b": "x"}`), so an
 * answer from Redis is byte for byte the answer from PostgreSQL.
 */
export class ViewCodec {
  /** The configured systems, by name, in a fixed order. */
  private readonly systems: Array<{ name: string; prefix: string; keys: string[]; types: FieldType[]; kinds: Kind[]; heads: string[] }>;
  private readonly systemIndex = new Map<string, number>();
  /**
   * Digits that change with the systems and their fields: the body names neither, so an entry
   * written under other configuration is of another format (a miss, replaced by any write).
   */
  readonly shapeDigits: string;

  constructor(sources: SourcesConfig) {
    const names = sources.systems.map((s) => s.name).sort();
    this.systems = names.map((name, i) => {
      const system = sources.systems.find((s) => s.name === name)!;
      this.systemIndex.set(name, i);
      const keys = Object.keys(system.fields).sort(jsonbKeyOrder);
      const types = keys.map((k) => system.fields[k]);
      const kinds = types.map((t) => KINDS[t] ?? Kind.Plain);
      return { name, prefix: `${name}-`, keys, types, kinds, heads: keys.map((k, j) => `${j === 0 ? '{' : ', '}${JSON.stringify(k)}: `) };
    });
    // Ten digits of a SHA-256 of the shape: two shapes share them once in 10^10 changes.
    const digest = createHash('sha256').update(JSON.stringify(this.systems.map((s) => [s.name, s.keys, s.types]))).digest('hex');
    this.shapeDigits = String(BigInt(`0x${digest.slice(0, 12)}`) % 10_000_000_000n).padStart(10, '0');
  }

  encode(view: CustomerView): string {
    const since = Date.parse(view.statusSince);
    const sinceExact = isIso(since, view.statusSince) && fromSeconds(toSeconds(since)) === since;
    // The same text is the same instant: no second parse (updated when the status changed).
    const updated = view.updatedAt === view.statusSince ? since : Date.parse(view.updatedAt);
    const updatedExact = sinceExact && (updated === since || isIso(updated, view.updatedAt));
    const base = updatedExact ? updated : NaN;
    const out: unknown[] = [
      view.status,
      view.reason === view.status.toLowerCase() ? 0 : view.reason,
      sinceExact ? toSeconds(since) : view.statusSince,
      updatedExact ? updated - since : view.updatedAt,
      view.ruleSetVersion,
    ];
    for (const s of view.sources) out.push(this.encodeSource(s, view.id, view.status, base, view.updatedAt));
    return JSON.stringify(out);
  }

  /** The view of `id` at `version` from a body `encode` wrote; throws on a body it did not write. */
  decode(id: string, version: number, body: string): CustomerView {
    const a = JSON.parse(body) as unknown[];
    const status = a[0] as string;
    const sinceMs = typeof a[2] === 'number' ? fromSeconds(a[2]) : a[2];
    const upd = a[3];
    const updatedMs = typeof upd === 'number' ? (sinceMs as number) + upd : NaN;
    const statusSince = typeof sinceMs === 'number' ? isoOf(sinceMs) : (sinceMs as string);
    // The same instant is formatted once (updated when the status changed, sources at that time).
    const updatedAt = upd === 0 ? statusSince : typeof upd === 'number' ? isoOf(updatedMs) : (upd as string);
    const sources: SourceStatusView[] = [];
    for (let i = 5; i < a.length; i++) sources.push(this.decodeSource(a[i], id, status, updatedMs, updatedAt));
    return {
      id,
      status,
      reason: a[1] === 0 ? status.toLowerCase() : (a[1] as string),
      statusSince,
      updatedAt,
      version,
      ruleSetVersion: a[4] as number,
      sources,
    };
  }

  private encodeSource(s: SourceStatusView, id: string, status: string, base: number, baseIso: string): unknown {
    const compact = this.compactSource(s, id, status, base, baseIso);
    if (compact !== undefined) {
      const back = this.decodeSource(compact, id, status, base, baseIso);
      if (
        back.raw === s.raw &&
        back.recordKey === s.recordKey &&
        back.rule === s.rule &&
        back.sourceTimestamp === s.sourceTimestamp &&
        back.position === s.position &&
        back.status === s.status
      ) {
        return compact;
      }
    }
    // As it is, in the view's own field order (the verify command compares views as JSON).
    return { system: s.system, recordKey: s.recordKey, status: s.status, rule: s.rule, raw: s.raw, sourceTimestamp: s.sourceTimestamp, position: s.position };
  }

  /** The compact form (to be checked by decoding it), or undefined when the source has no compact form. */
  private compactSource(s: SourceStatusView, id: string, status: string, base: number, baseIso: string): unknown[] | undefined {
    const index = this.systemIndex.get(s.system);
    if (index === undefined) return undefined;
    const system = this.systems[index];
    let raw: unknown;
    try {
      raw = JSON.parse(s.raw);
    } catch {
      return undefined;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
    const fields = raw as Record<string, unknown>;
    const names = Object.keys(fields);
    let values: unknown[] | Record<string, unknown> = fields;
    let keyRef: number | string = s.recordKey;
    if (names.length === system.keys.length && names.every((n, j) => n === system.keys[j])) {
      values = [];
      for (let j = 0; j < names.length; j++) {
        const v = fields[names[j]];
        const type = system.types[j];
        if (typeof keyRef === 'string' && (typeof v === 'string' || typeof v === 'number') && String(v) === s.recordKey) keyRef = j;
        if (type === 'string' && v === id) values.push(0);
        else if (type === 'timestamp' && typeof v === 'string') {
          const ms = Date.parse(v);
          values.push(Number.isNaN(ms) ? v : toSeconds(ms));
        } else if (type === 'timestamp-millis' && typeof v === 'number') values.push(toSeconds(v));
        else if (type === 'timestamp-micros' && typeof v === 'number') values.push((v - EPOCH_MS * 1000) / 1e6);
        else values.push(v);
      }
    }
    const rule = s.rule.startsWith(system.prefix) ? s.rule.slice(system.name.length) : s.rule;
    const out: unknown[] = [index, keyRef, s.status === status ? 0 : s.status, rule, values, s.position];
    const ts = s.sourceTimestamp;
    if (ts === null || Number.isNaN(base)) out.push(ts);
    else if (ts !== baseIso) {
      const ms = Date.parse(ts);
      if (!isIso(ms, ts)) out.push(ts);
      else if (ms !== base) out.push(ms - base);
    }
    return out;
  }

  private decodeSource(x: unknown, id: string, status: string, base: number, baseIso: string): SourceStatusView {
    if (!Array.isArray(x)) return x as SourceStatusView;
    const system = this.systems[x[0] as number];
    const values = x[4] as unknown[] | Record<string, unknown>;
    let raw: string;
    if (Array.isArray(values)) {
      raw = values.length === 0 ? '{}' : '';
      for (let j = 0; j < values.length; j++) {
        const v = values[j];
        let text: string;
        switch (typeof v === 'number' ? system.kinds[j] : Kind.Plain) {
          case Kind.Id:
            text = v === 0 ? quote(id) : jsonbText(v);
            break;
          case Kind.Iso: {
            const ms = fromSeconds(v as number);
            const iso = isoOf(ms);
            text = ms % 1000 === 0 ? '"' + iso.slice(0, 19) + 'Z"' : '"' + iso + '"';
            break;
          }
          case Kind.Millis:
            text = String(fromSeconds(v as number));
            break;
          case Kind.Micros:
            text = String(Math.round((v as number) * 1e6) + EPOCH_MS * 1000);
            break;
          case Kind.Plain:
            text = jsonbText(v);
        }
        raw += system.heads[j] + text;
      }
      if (values.length > 0) raw += '}';
    } else raw = jsonbText(values);
    const key = x[1];
    const rule = x[3] as string;
    const ts = x.length > 6 ? x[6] : undefined;
    const own = x[2];
    return {
      system: system.name,
      recordKey: typeof key === 'number' ? String((Array.isArray(values) ? values : [])[key]) : (key as string),
      status: own === 0 ? status : (own as string),
      rule: rule.charCodeAt(0) === 45 /* - */ ? system.name + rule : rule,
      raw,
      sourceTimestamp: ts === undefined ? baseIso : typeof ts === 'number' ? isoOf(base + ts) : (ts as string | null),
      position: x[5] as string | null,
    };
  }
}

/** A JSON value as PostgreSQL's `jsonb::text` writes it: `", "` and `": "` between items. */
export function jsonbText(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i === 0 ? '' : ', ') + jsonbText(v[i]);
    return s + ']';
  }
  let s = '{';
  let first = true;
  for (const k in v) {
    s += (first ? '' : ', ') + JSON.stringify(k) + ': ' + jsonbText((v as Record<string, unknown>)[k]);
    first = false;
  }
  return s + '}';
}

/** How a configured field's value is written in the body (see ViewCodec). */
const enum Kind {
  Plain,
  Id,
  Iso,
  Millis,
  Micros,
}
const KINDS: Partial<Record<FieldType, Kind>> = { string: Kind.Id, timestamp: Kind.Iso, 'timestamp-millis': Kind.Millis, 'timestamp-micros': Kind.Micros };

/** Dates in the body are seconds (with a fraction if they have ms) since 2020: fewer digits than epoch ms. */
const EPOCH_MS = Date.UTC(2020, 0, 1);
const toSeconds = (ms: number): number => (ms - EPOCH_MS) / 1000;
const fromSeconds = (s: number): number => Math.round(s * 1000) + EPOCH_MS;

const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * `new Date(ms).toISOString()` for years 0 to 9999, several times faster (a Date and its
 * formatting cost ~0.8 µs, and a view has a date per source and two more).
 */
export function isoOf(ms: number): string {
  if (!Number.isInteger(ms) || ms < -62167219200000 || ms > 253402300799999) return new Date(ms).toISOString();
  const days = Math.floor(ms / 86_400_000);
  const rest = ms - days * 86_400_000;
  const minutes = Math.floor(rest / 60_000);
  const millis = rest - minutes * 60_000;
  const sec = Math.floor(millis / 1000);
  return dayOf(days) + HOUR_MINUTE[minutes] + TWO[sec] + MILLIS_Z[millis - sec * 1000];
}

/** Whether `text` is what `isoOf(ms)` writes (`ms` from Date.parse: NaN for what is not a date). */
const isIso = (ms: number, text: string): boolean => !Number.isNaN(ms) && isoOf(ms) === text;

/** `HH:MM:` of the minutes of a day, and `.mmmZ`. */
const HOUR_MINUTE = Array.from({ length: 1440 }, (_, m) => `${TWO[Math.floor(m / 60)]}:${TWO[m % 60]}:`);
const MILLIS_Z = THREE.map((t) => `.${t}Z`);

/** `YYYY-MM-DDT` of days since 1970-01-01, remembered: the dates of a cache's views fall on few days. */
const days = new Map<number, string>();

function dayOf(n: number): string {
  const known = days.get(n);
  if (known !== undefined) return known;
  // Civil from days (H. Hinnant).
  const z = n + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const text = `${TWO[Math.floor(y / 100)]}${TWO[y % 100]}-${TWO[m]}-${TWO[d]}T`;
  if (days.size >= 50_000) days.clear();
  days.set(n, text);
  return text;
}

/** JSON.stringify of a string, without its cost for the usual string that needs no escape. */
function quote(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** jsonb's key order: shorter keys first, then bytewise (UTF-8). */
function jsonbKeyOrder(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length !== y.length ? x.length - y.length : Buffer.compare(x, y);
}

/** FNV-1a over UTF-16 code units: a stable digest, not a secure one. */

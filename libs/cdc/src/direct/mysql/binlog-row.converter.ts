import { FieldType } from '@app/config';

/** A column as zongji describes it (from INFORMATION_SCHEMA or the binlog's own metadata). */
export interface BinlogColumn {
  COLUMN_NAME: string;
  COLUMN_TYPE: string;
}

type Convert = (v: unknown) => unknown;

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/;

/**
 * Turns a binlog row (zongji, `dateStrings` and `jsonStrings` on) into the JSON values Debezium's
 * MySQL connector sends (time.precision.mode=adaptive_time_microseconds, decimal.handling.mode=string,
 * binary.handling.mode=bytes), as the backfill's MySQL reader also does, so that one row gives
 * one event whatever read it: `datetime(0-3)` as epoch milliseconds, `datetime(4-6)` as epoch
 * microseconds, `timestamp` as an ISO string, unless the field's configured type says otherwise;
 * dates as days since the epoch, times as microseconds, bytes as base64, JSON as its text,
 * decimals as text, integers beyond 2^53 as their exact digits.
 */
export class BinlogRowConverter {
  private readonly byColumn = new Map<string, Convert>();

  constructor(
    columns: readonly BinlogColumn[],
    private readonly fields: Readonly<Record<string, FieldType>>,
  ) {
    for (const c of columns) this.byColumn.set(c.COLUMN_NAME, converter(c.COLUMN_TYPE.toLowerCase(), fields[c.COLUMN_NAME]));
  }

  convert(row: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      const f = this.byColumn.get(k);
      out[k] = v === null || v === undefined ? null : f ? f(v) : plain(v);
    }
    return out;
  }
}

function converter(type: string, configured: FieldType | undefined): Convert {
  const base = /^[a-z]+/.exec(type)?.[0] ?? type;
  const precision = Number(/\((\d+)\)/.exec(type)?.[1] ?? 0);
  if (base === 'datetime' || base === 'timestamp') {
    const millis: Convert = (v) => epoch(v, 1000n);
    const micros: Convert = (v) => epoch(v, 1n);
    if (configured === 'timestamp-millis') return millis;
    if (configured === 'timestamp-micros') return micros;
    if (configured === 'timestamp' || base === 'timestamp') return iso;
    return precision > 3 ? micros : millis;
  }
  if (base === 'date') return days;
  if (base === 'time') return timeMicros;
  if (base === 'json') return (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  return plain;
}

/** What needs no knowledge of the column: bytes as base64, bigint as exact digits when beyond 2^53. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return v;
}

/** A datetime read as UTC (Debezium's meaning of a MySQL DATETIME), floored to the unit as the backfill's `FLOOR` does. */
function epoch(v: unknown, divisor: bigint): unknown {
  const m = DATETIME.exec(String(v));
  if (!m) return v;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const micros = BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0'));
  let out = micros / divisor;
  if (micros < 0n && out * divisor !== micros) out -= 1n;
  const n = Number(out);
  return Number.isSafeInteger(n) ? n : out.toString();
}

function iso(v: unknown): unknown {
  const m = DATETIME.exec(String(v));
  if (!m) return v;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ? `.${m[7]}` : ''}Z`;
}

function days(v: unknown): unknown {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(v));
  return m ? Math.floor(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000) : v;
}

function timeMicros(v: unknown): unknown {
  const m = /^(-)?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(String(v));
  if (!m) return v;
  const us = ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1_000_000 + Number((m[5] ?? '').padEnd(6, '0'));
  return m[1] ? -us : us;
}

/**
 * PostgreSQL's text output of a column, as the value Debezium's PostgreSQL connector puts in its
 * JSON for that type with its default settings, so that a system switched between Debezium and
 * the direct source stores the same raw fields: integers and floats as numbers, booleans,
 * `timestamp` as microseconds since the epoch (milliseconds for a precision up to 3),
 * `timestamptz` as an ISO-8601 string in UTC, `date` as days since the epoch, everything else
 * (text, uuid, json, numeric) as the string. The replication connection runs with TimeZone=UTC and
 * DateStyle=ISO, which is what these parsers read.
 *
 * Differences from Debezium, on purpose: `numeric` stays its exact string (Debezium's default is
 * base64 bytes of the unscaled value, which no rule can read), an integer beyond 2^53 stays a
 * string (a JSON number would round it), and values PostgreSQL writes as words (`infinity`,
 * `NaN`) stay strings.
 */
export const PG_TYPES = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
} as const;

const EPOCH_DAY_MS = 86_400_000;
const TIMESTAMP = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/;
const TIMESTAMPTZ = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\+00$/;
const DATE = /^(\d{4,})-(\d\d)-(\d\d)$/;

export function decodePgValue(text: string, typeOid: number, typmod: number): unknown {
  switch (typeOid) {
    case PG_TYPES.bool:
      return text === 't' ? true : text === 'f' ? false : text;
    case PG_TYPES.int2:
    case PG_TYPES.int4:
    case PG_TYPES.int8:
    case PG_TYPES.oid: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case PG_TYPES.float4:
    case PG_TYPES.float8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case PG_TYPES.date: {
      const m = DATE.exec(text);
      return m ? Math.floor(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / EPOCH_DAY_MS) : text;
    }
    case PG_TYPES.timestamp: {
      const m = TIMESTAMP.exec(text);
      if (!m) return text;
      const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
      const micros = Number((m[7] ?? '').padEnd(6, '0'));
      // typmod is the declared precision (-1: none, i.e. 6); Debezium's adaptive mode uses millis up to 3.
      return typmod >= 0 && typmod <= 3 ? ms + Math.floor(micros / 1000) : ms * 1000 + micros;
    }
    case PG_TYPES.timestamptz: {
      const m = TIMESTAMPTZ.exec(text);
      if (!m) return text;
      const fraction = (m[7] ?? '').replace(/0+$/, '');
      return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction ? `.${fraction}` : ''}Z`;
    }
    default:
      return text;
  }
}

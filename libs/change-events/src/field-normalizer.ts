import { FieldType } from '@app/config';

/** Brings a Debezium field value to its configured type; values that do not fit are kept as they are. */
export function normalizeField(value: unknown, type: FieldType | undefined): unknown {
  if (value === null || value === undefined || type === undefined) return value ?? null;
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : String(value);
    case 'integer':
    case 'number': {
      if (typeof value === 'number') return value;
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      return Number.isNaN(n) ? value : n;
    }
    case 'boolean':
      if (value === 1 || value === '1' || value === 'true') return true;
      if (value === 0 || value === '0' || value === 'false') return false;
      return value;
    case 'timestamp-micros':
      return typeof value === 'number' ? Math.floor(value / 1000) : timestamp(value);
    case 'timestamp-millis':
      return typeof value === 'number' ? value : timestamp(value);
    case 'timestamp':
      return timestamp(value);
    case 'json':
      return value;
  }
}

function timestamp(value: unknown): unknown {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? value : t;
  }
  return value;
}

/** Brings a system's raw row to the types the rules expect, the same way for events and stored records. */
export function normalizeRow(fields: Readonly<Record<string, FieldType>>, raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  // for…in, not Object.entries: no array of pairs per row (this runs for every event and backfilled row).
  for (const k in raw) if (Object.prototype.hasOwnProperty.call(raw, k)) row[k] = normalizeField(raw[k], fields[k]);
  return row;
}

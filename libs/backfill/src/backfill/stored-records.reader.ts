import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SourcePosition } from '@app/change-events';
import { PROJECTION_DATA_SOURCE } from '@app/projection';

/** What the view holds for one source record: enough to tell whether a legacy row would change it. */
export interface StoredRecord {
  recordKey: string;
  customerId: string | null;
  raw: Record<string, unknown>;
  status: string | null;
  rule: string | null;
  deleted: boolean;
  position: SourcePosition;
}

interface Row {
  record_key: string;
  customer_id: string | null;
  raw: Record<string, unknown>;
  status: string | null;
  rule: string | null;
  deleted: boolean;
  position_kind: string;
  position_key: string;
  position: string;
  ts_ms: string | null;
}

/** Point reads of source records by key, one statement per batch (the primary key answers). */
@Injectable()
export class StoredRecordsReader {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  async byKeys(system: string, keys: readonly string[]): Promise<Map<string, StoredRecord>> {
    const out = new Map<string, StoredRecord>();
    if (keys.length === 0) return out;
    const rows: Row[] = await this.db.query(
      `SELECT record_key, customer_id, raw, status, rule, deleted, position_kind, position_key, position,
              (extract(epoch FROM source_ts) * 1000)::int8::text AS ts_ms
       FROM source_record WHERE system = $1 AND record_key = ANY($2::text[])`,
      [system, keys],
    );
    for (const r of rows) {
      out.set(r.record_key, {
        recordKey: r.record_key,
        customerId: r.customer_id,
        raw: r.raw,
        status: r.status,
        rule: r.rule,
        deleted: r.deleted,
        position: positionOf(r),
      });
    }
    return out;
  }

  /** The system's last truncate (its watermark), or null: a record older than it is stored deleted. */
  async truncateWatermark(system: string): Promise<SourcePosition | null> {
    const rows: StoredPosition[] = await this.db.query(
      `SELECT position_kind, position_key, position, (extract(epoch FROM source_ts) * 1000)::int8::text AS ts_ms FROM source_truncate WHERE system = $1`,
      [system],
    );
    return rows.length ? positionOf(rows[0]) : null;
  }
}

type StoredPosition = Pick<Row, 'position_kind' | 'position_key' | 'position' | 'ts_ms'>;

function positionOf(r: StoredPosition): SourcePosition {
  return { kind: r.position_kind as SourcePosition['kind'], key: r.position_key, tsMs: r.ts_ms === null ? null : Number(r.ts_ms), text: r.position };
}

/** Same columns, same values: jsonb returns the numbers and strings the raw row was stored with. */
export function sameRaw(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null && JSON.stringify(x) === JSON.stringify(y)) continue;
    return false;
  }
  return true;
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { SourcePosition } from '@app/change-events';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';
import { KeyPartOrder } from './record-key-order';
import { SourceRecordCursor } from './source-record.cursor';

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

/** A combination of input values held by live records of a system, and how many hold it. */
export interface StoredInputs {
  inputs: Record<string, unknown>;
  count: number;
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

type StoredPosition = Pick<Row, 'position_kind' | 'position_key' | 'position' | 'ts_ms'>;

/**
 * The source records as other libraries read them: backfill and reconcile compare legacy rows
 * with them, rule set validation looks at the values they hold. The projection writes them
 * (ProjectionStore); nothing here writes.
 */
@Injectable()
export class SourceRecordRepository {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  /** Point reads by key, one statement per call (the primary key answers). */
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

  /**
   * A system's records (deleted ones too) in key order, read page by page from one snapshot on a
   * connection of their own (named `applicationName` in pg_stat_activity). The caller closes it.
   */
  async inKeyOrder(system: string, parts: readonly KeyPartOrder[], options: { pageSize: number; applicationName: string }): Promise<SourceRecordCursor> {
    // The same database as this repository's: createDataSource always names it by URL.
    const { url } = this.db.options as PostgresConnectionOptions;
    if (!url) throw new Error('the projection data source has no URL to open a key-ordered scan with');
    return SourceRecordCursor.open(url, system, parts, options);
  }

  /**
   * The distinct combinations of these raw fields among the system's live records, the most
   * frequent first, at most `limit` of them. A field a record lacks is null in its combination.
   */
  async inputCombinations(system: string, inputs: readonly string[], limit: number): Promise<StoredInputs[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    if (inputs.length === 0) return [];
    const rows: { inputs: Record<string, unknown>; n: string }[] = await this.db.query(
      `SELECT jsonb_build_object(${inputs.map((_, i) => `$${i + 2}::text, raw -> $${i + 2}::text`).join(', ')}) AS inputs, count(*) AS n
       FROM source_record WHERE system = $1 AND NOT deleted GROUP BY 1 ORDER BY count(*) DESC LIMIT ${limit}`,
      [system, ...inputs],
    );
    return rows.map((r) => ({ inputs: r.inputs, count: Number(r.n) }));
  }
}

function positionOf(r: StoredPosition): SourcePosition {
  return { kind: r.position_kind as SourcePosition['kind'], key: r.position_key, tsMs: r.ts_ms === null ? null : Number(r.ts_ms), text: r.position };
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

/** The raw fields to read of each system's records; the other systems' records come with none. */
export interface InputSelection {
  system: string;
  fields: readonly string[];
}

/** A live customer with its live records: for each, the selected raw fields and its mapped status. */
export interface CustomerInputs {
  id: string;
  status: string;
  records: Array<{ system: string; raw: Record<string, unknown>; status: string | null }>;
}

/**
 * Every live customer with the inputs of its live records, in pages ordered by id (keyset), so
 * that memory holds one page whatever the number of customers: what an impact preview evaluates.
 */
@Injectable()
export class CustomerInputsReader {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  async *pages(selection: readonly InputSelection[], pageSize: number): AsyncGenerator<CustomerInputs[]> {
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
    const sql = customerInputsSql(selection);
    let after = '';
    for (;;) {
      const rows: CustomerInputs[] = await this.db.query(sql, [after, pageSize]);
      if (rows.length === 0) return;
      yield rows;
      after = rows[rows.length - 1].id;
    }
  }
}

/**
 * Reads only the selected fields, not whole raw rows: PostgreSQL builds and Node parses a
 * fraction of the JSON, which is most of a preview's cost.
 */
function customerInputsSql(selection: readonly InputSelection[]): string {
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const cases = selection
    .map((t) => {
      const fields = t.fields.map((f) => `${quote(f)}, s.raw -> ${quote(f)}`).join(', ');
      return `WHEN ${quote(t.system)} THEN jsonb_build_object(${fields})`;
    })
    .join(' ');
  const raw = cases ? `CASE s.system ${cases} ELSE '{}'::jsonb END` : `'{}'::jsonb`;
  return `SELECT c.id, c.status,
      (SELECT coalesce(json_agg(json_build_object('system', s.system, 'raw', ${raw}, 'status', s.status)), '[]'::json)
       FROM source_record s WHERE s.customer_id = c.id AND NOT s.deleted) AS records
    FROM customer c WHERE c.live AND c.id > $1 ORDER BY c.id LIMIT $2`;
}

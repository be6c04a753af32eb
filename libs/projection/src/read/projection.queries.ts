import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { setScrapeSource } from '@app/observability';
import { StatusChangeView } from '../customer-view.model';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

export interface StatusCount {
  status: string;
  count: number;
}

export interface UnmappedValue {
  system: string;
  field: string;
  value: string;
  count: number;
  lastSeen: string;
}

/** Read-side queries answered by PostgreSQL directly. */
@Injectable()
export class ProjectionQueries {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {
    setScrapeSource('unmapped', async () => {
      const rows: { system: string; field: string; n: number }[] = await this.db.query(
        `SELECT system, unmapped_field AS field, count(*)::int AS n FROM source_record
         WHERE unmapped_value IS NOT NULL AND NOT deleted GROUP BY 1, 2`,
      );
      return rows.map((r) => ({ labels: { system: r.system, field: r.field }, value: r.n }));
    });
  }

  async statusCounts(): Promise<StatusCount[]> {
    const rows: { status: string; count: string }[] = await this.db.query(
      `SELECT status, count(*) AS count FROM customer WHERE live GROUP BY status ORDER BY status`,
    );
    return rows.map((r) => ({ status: r.status, count: Number(r.count) }));
  }

  /** How many distinct raw values no mapping rule covers, and the live records holding them. */
  async unmappedTotals(): Promise<{ values: number; records: number }> {
    const [row]: { values: string; records: string }[] = await this.db.query(
      `SELECT count(*) AS values, coalesce(sum(n), 0) AS records
       FROM (SELECT count(*) AS n FROM source_record WHERE unmapped_value IS NOT NULL AND NOT deleted GROUP BY system, unmapped_field, unmapped_value) g`,
    );
    return { values: Number(row.values), records: Number(row.records) };
  }

  /** The `first` most frequent raw values no mapping rule covered, counted over the live source records holding them now. */
  async unmappedValues(first: number): Promise<UnmappedValue[]> {
    const rows: { system: string; field: string; value: string; count: string; last_seen: Date }[] = await this.db.query(
      `SELECT system, unmapped_field AS field, unmapped_value AS value, count(*) AS count, max(updated_at) AS last_seen
       FROM source_record WHERE unmapped_value IS NOT NULL AND NOT deleted
       GROUP BY system, unmapped_field, unmapped_value ORDER BY count(*) DESC, system, unmapped_value LIMIT $1`,
      [first],
    );
    return rows.map((r) => ({ system: r.system, field: r.field, value: r.value, count: Number(r.count), lastSeen: r.last_seen.toISOString() }));
  }

  /** Keyset page of customer ids with a status, ordered by id; one more than asked tells if there is a next page. */
  async customerIdsByStatus(status: string, first: number, after: string | null): Promise<{ ids: string[]; hasNextPage: boolean }> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM customer WHERE live AND status = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [status, after, first + 1],
    );
    return { ids: rows.slice(0, first).map((r) => r.id), hasNextPage: rows.length > first };
  }

  async countByStatus(status: string): Promise<number> {
    const [row]: { count: string }[] = await this.db.query(`SELECT count(*) AS count FROM customer WHERE live AND status = $1`, [status]);
    return Number(row.count);
  }

  /**
   * For each customer whose history retention has cut, when: the time of the newest change
   * removed (`history_retention`), for the customers whose oldest kept change is not their first
   * (it has a `from`) or who have none left. Customers with whole histories are not in the map.
   */
  async historyTrimmed(ids: readonly string[]): Promise<Map<string, string>> {
    const rows: Array<{ id: string; trimmed_until: Date }> = await this.db.query(
      `SELECT c.id, r.trimmed_until FROM history_retention r, unnest($1::text[]) AS c(id)
       WHERE coalesce((SELECT h.from_status IS NOT NULL FROM status_history h WHERE h.customer_id = c.id ORDER BY h.id LIMIT 1), true)`,
      [[...new Set(ids)]],
    );
    return new Map(rows.map((r) => [r.id, r.trimmed_until.toISOString()]));
  }

  /** Latest `first` status changes per customer, newest first, for many customers in one query. */
  async history(ids: readonly string[], first: number): Promise<Map<string, StatusChangeView[]>> {
    const rows: { customer_id: string; from_status: string | null; to_status: string; reason: string; rule_set_version: number; at: Date; customer_version: string | null }[] =
      await this.db.query(
        `SELECT h.* FROM unnest($1::text[]) AS c(id)
         CROSS JOIN LATERAL (SELECT customer_id, from_status, to_status, reason, rule_set_version, at, customer_version
                             FROM status_history WHERE customer_id = c.id ORDER BY id DESC LIMIT $2) h`,
        [[...new Set(ids)], first],
      );
    const out = new Map<string, StatusChangeView[]>();
    for (const r of rows) {
      const list = out.get(r.customer_id) ?? [];
      list.push({
        customerId: r.customer_id,
        from: r.from_status,
        to: r.to_status,
        reason: r.reason,
        ruleSetVersion: r.rule_set_version,
        at: r.at.toISOString(),
        customerVersion: r.customer_version === null ? null : Number(r.customer_version),
      });
      out.set(r.customer_id, list);
    }
    return out;
  }
}

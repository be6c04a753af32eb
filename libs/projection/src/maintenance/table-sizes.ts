import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { setScrapeSource } from '@app/observability';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

/** The tables that grow with the customers and their changes: a bounded label set for metrics. */
export const SIZED_TABLES = ['customer', 'source_record', 'source_truncate', 'status_history', 'status_outbox', 'status_outbox_dead', 'direct_dead_letter'] as const;
export type SizedTable = (typeof SIZED_TABLES)[number];

export interface TableSize {
  table: SizedTable;
  /** Heap and TOAST. */
  tableBytes: number;
  indexBytes: number;
  /** Dead rows as the statistics collector counts them (what vacuum has yet to reclaim). */
  deadRows: number;
  liveRows: number;
}

/** Sizes of the projection's tables: `/metrics` reads them at scrape time, so bloat shows before it hurts. */
@Injectable()
export class TableSizes implements OnModuleInit {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  onModuleInit(): void {
    const each = (pick: (s: TableSize) => number) => async () => (await this.sizes()).map((s) => ({ labels: { table: s.table }, value: pick(s) }));
    setScrapeSource('tableBytes', each((s) => s.tableBytes));
    setScrapeSource('indexBytes', each((s) => s.indexBytes));
    setScrapeSource('deadRows', each((s) => s.deadRows));
  }

  async sizes(): Promise<TableSize[]> {
    const rows: Array<{ table: SizedTable; table_bytes: string; index_bytes: string; dead: string | null; live: string | null }> = await this.db.query(
      `SELECT t.name AS table, pg_table_size(c.oid) AS table_bytes, pg_indexes_size(c.oid) AS index_bytes,
              s.n_dead_tup AS dead, s.n_live_tup AS live
       FROM unnest($1::text[]) AS t(name)
       JOIN pg_class c ON c.oid = to_regclass(t.name)
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid`,
      [SIZED_TABLES],
    );
    return rows.map((r) => ({ table: r.table, tableBytes: Number(r.table_bytes), indexBytes: Number(r.index_bytes), deadRows: Number(r.dead ?? 0), liveRows: Number(r.live ?? 0) }));
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { normalizeRow } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig, FieldType } from '@app/config';
import { PROJECTION_DATA_SOURCE } from '@app/projection';
import { CompiledRuleSet } from '@app/rules';

export interface ImpactCell {
  from: string;
  to: string;
  count: number;
  sample: string[];
}

export interface ImpactPreview {
  customers: number;
  moving: number;
  cells: ImpactCell[];
}

interface Row {
  id: string;
  status: string;
  records: Array<{ system: string; raw: Record<string, unknown>; status: string | null }>;
}

const BATCH = 5000;

/**
 * What a rule set would do if published now: every stored customer is evaluated with it, without
 * touching the legacy systems or the published state. Customers are read in keyset batches, so
 * memory holds one batch and the from→to table, whatever the number of customers.
 */
@Injectable()
export class ImpactPreviewService {
  private readonly fields: Map<string, Record<string, FieldType>>;

  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(DOMAIN_CONFIG) domain: DomainConfig,
  ) {
    this.fields = new Map(domain.sources.systems.map((s) => [s.name, s.fields]));
  }

  async preview(compiled: CompiledRuleSet, sampleSize = 5, now = Date.now()): Promise<ImpactPreview> {
    const cells = new Map<string, ImpactCell>();
    const masks = new Int32Array(compiled.systems.length);
    let customers = 0;
    let moving = 0;
    let after = '';
    const sql = previewSql(compiled);
    for (;;) {
      const rows: Row[] = await this.db.query(sql, [after, BATCH]);
      if (rows.length === 0) break;
      for (const row of rows) {
        customers++;
        masks.fill(0);
        for (const r of row.records) {
          const s = compiled.systemIndex(r.system);
          if (s === undefined) continue;
          try {
            const m = compiled.map(r.system, normalizeRow(this.fields.get(r.system) ?? {}, r.raw), now);
            masks[s] |= 1 << m.statusIndex;
          } catch {
            // Unmappable under this rule set: the projection keeps the record's last mapping, and so does the preview.
            if (r.status !== null && compiled.statuses.includes(r.status)) masks[s] |= 1 << compiled.statusIndex(r.status);
          }
        }
        const to = compiled.resolve(masks).status;
        if (to === row.status) continue;
        moving++;
        const key = `${row.status}\u0000${to}`;
        let cell = cells.get(key);
        if (!cell) cells.set(key, (cell = { from: row.status, to, count: 0, sample: [] }));
        cell.count++;
        if (cell.sample.length < sampleSize) cell.sample.push(row.id);
      }
      after = rows[rows.length - 1].id;
    }
    const sorted = [...cells.values()].sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
    return { customers, moving, cells: sorted };
  }
}

/**
 * Reads only the fields the rule set's mapping tables use, not whole raw rows: PostgreSQL builds
 * and Node parses a fraction of the JSON, which is most of the preview's cost.
 */
function previewSql(compiled: CompiledRuleSet): string {
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const cases = compiled.ruleSet.mappings
    .map((t) => {
      const fields = t.inputs.map((i) => `${quote(i.name)}, s.raw -> ${quote(i.name)}`).join(', ');
      return `WHEN ${quote(t.system)} THEN jsonb_build_object(${fields})`;
    })
    .join(' ');
  const raw = cases ? `CASE s.system ${cases} ELSE '{}'::jsonb END` : `'{}'::jsonb`;
  return `SELECT c.id, c.status,
      (SELECT coalesce(json_agg(json_build_object('system', s.system, 'raw', ${raw}, 'status', s.status)), '[]'::json)
       FROM source_record s WHERE s.customer_id = c.id AND NOT s.deleted) AS records
    FROM customer c WHERE c.live AND c.id > $1 ORDER BY c.id LIMIT $2`;
}

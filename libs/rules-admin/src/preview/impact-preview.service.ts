import { Inject, Injectable } from '@nestjs/common';
import { normalizeRow } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig, FieldType } from '@app/config';
import { CustomerInputsReader } from '@app/projection';
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
    private readonly customers: CustomerInputsReader,
    @Inject(DOMAIN_CONFIG) domain: DomainConfig,
  ) {
    this.fields = new Map(domain.sources.systems.map((s) => [s.name, s.fields]));
  }

  async preview(compiled: CompiledRuleSet, sampleSize = 5, now = Date.now()): Promise<ImpactPreview> {
    const cells = new Map<string, ImpactCell>();
    const masks = new Int32Array(compiled.systems.length);
    let customers = 0;
    let moving = 0;
    // Only the fields the rule set's mapping tables use, not whole raw rows: PostgreSQL builds and
    // Node parses a fraction of the JSON, which is most of the preview's cost.
    const inputs = compiled.ruleSet.mappings.map((t) => ({ system: t.system, fields: t.inputs.map((i) => i.name) }));
    for await (const rows of this.customers.pages(inputs, BATCH)) {
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
    }
    const sorted = [...cells.values()].sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
    return { customers, moving, cells: sorted };
  }
}

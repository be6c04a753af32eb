import { join } from 'node:path';
import { BENCH_NAMES } from '../bench.env';
import { BenchContext, BenchOutcome, Figure, ratio } from '../bench.model';
import { ReferenceCustomers } from '../data/reference-data';
import { psqlCopyMs } from '../infra/psql';
import { clearRedisPrefix } from '../infra/servers';
import { PreviewRun, ReprojectionRun } from '../workers/rules.worker';
import { WorkerHandle } from '../workers/worker.host';

export interface RulesSize {
  customers: number;
  /** Reprojection stops (superseded) after this long and its rate is taken over what it did. */
  reprojectionCapS: number;
}

/**
 * The preview's own keyset query (as the worker saw it sent, first page) over all customers at
 * once: `c.id > ''` and `LIMIT ALL`. What PostgreSQL alone takes to produce the preview's input.
 */
function wholeQuery(q: { sql: string; params: unknown[] }): string | null {
  const [after, limit] = q.params;
  if (q.params.length !== 2 || after !== '' || typeof limit !== 'number' || !/\$1\b/.test(q.sql) || !/LIMIT \$2\b/.test(q.sql)) return null;
  return `COPY (${q.sql.replace(/\$1\b/g, "''").replace(/LIMIT \$2\b/, 'LIMIT ALL')}) TO STDOUT`;
}

/**
 * The reference rule set with one analyst's change: a portal user who registered but never logged
 * in now counts as ACTIVE rather than PENDING (its example updated, or publishing would be refused).
 */
export function changedRuleSet(document: unknown): unknown {
  const doc = JSON.parse(JSON.stringify(document)) as {
    mappings: Record<string, { rules: Array<{ id: string; then: string }> }>;
    examples: { mappings: Array<{ system: string; expect: { status: string; rule: string } }> };
  };
  const rule = doc.mappings.portal.rules.find((r) => r.id === 'portal-registered');
  if (!rule) throw new Error('config/rules.yaml has no portal-registered rule to change');
  rule.then = 'ACTIVE';
  for (const ex of doc.examples.mappings) if (ex.system === 'portal' && ex.expect.rule === 'portal-registered') ex.expect.status = 'ACTIVE';
  return doc;
}

/** 5. Impact preview of a changed rule set, then its publish with the reprojection of every customer: customers/s. */
export async function rulesBench(ctx: BenchContext, size: RulesSize): Promise<BenchOutcome> {
  const { urls, domain } = ctx;
  const profileDir = ctx.profileDir && join(ctx.profileDir, 'rules');
  const n = size.customers.toLocaleString('en');
  ctx.log(`rules: seeding ${n} customers`);
  const t = Date.now();
  await ctx.view.reset();
  const seeded = await ctx.view.seed(new ReferenceCustomers(size.customers), ctx.mappings);
  const seedMs = Date.now() - t;
  await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix);

  const document = changedRuleSet(domain.rules.document);
  const worker = await WorkerHandle.start('rules', {}, { profileDir });
  let preview: PreviewRun;
  let reprojection: ReprojectionRun;
  try {
    ctx.log('rules: impact preview (ImpactPreviewService.preview)');
    preview = await worker.request<PreviewRun>('preview', { document });
    ctx.log(`rules: publish and reprojection (RuleSetLifecycleService.publish, ReprojectionService; capped at ${size.reprojectionCapS} s)`);
    reprojection = await worker.request<ReprojectionRun>('publish', { document, capMs: size.reprojectionCapS * 1000 });
  } finally {
    await worker.stop();
  }
  if (preview.customers !== size.customers) throw new Error(`preview saw ${preview.customers} customers, expected ${size.customers}`);
  const copySql = preview.query && wholeQuery(preview.query);
  let queryMs = NaN;
  if (copySql) {
    ctx.log("rules: the preview's own query alone over all customers (COPY)");
    queryMs = await psqlCopyMs(ctx.view.url, copySql);
  } else ctx.log("rules: the preview's query is not one keyset query ($1 after, $2 limit): no reference");
  const queryRate = (size.customers / queryMs) * 1000;
  const previewRate = (preview.customers / (preview.doneAt - preview.startedAt)) * 1000;
  const reprojectionRate = (reprojection.processed / (reprojection.doneAt - reprojection.startedAt)) * 1000;
  const figures: Figure[] = [
    {
      bench: 'rules',
      name: `impact preview of a changed rule set over ${n} customers (${preview.moving.toLocaleString('en')} would move)`,
      value: { value: previewRate, unit: 'customers/s' },
      ...(copySql
        ? { reference: { name: "the preview's own query alone over all customers: COPY (SELECT …) TO STDOUT", value: queryRate, unit: 'customers/s' }, ratio: ratio(previewRate, queryRate) }
        : {}),
      aim: { text: '> 100,000 customers/s', met: previewRate > 100_000 },
    },
    {
      bench: 'rules',
      name: reprojection.capped
        ? `publish + reprojection: ${reprojection.processed.toLocaleString('en')} of ${n} customers in the ${size.reprojectionCapS} s cap (${reprojection.changed.toLocaleString('en')} changed)`
        : `publish + reprojection of ${n} customers until done (${reprojection.changed.toLocaleString('en')} changed)`,
      value: { value: reprojectionRate, unit: 'customers/s' },
      reference: { name: 'the impact preview of the same rules (above)', value: previewRate, unit: 'customers/s' },
      ratio: ratio(reprojectionRate, previewRate),
      aim: { text: '≥ 100,000 customers/s', met: reprojectionRate >= 100_000 && !reprojection.capped },
    },
  ];
  ctx.log('rules: emptying the view and the cache');
  await ctx.view.reset();
  await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix);
  return {
    figures,
    notes: [
      `Rules: ${n} customers seeded with SQL (${seeded.records.toLocaleString('en')} source records) in ${(seedMs / 1000).toFixed(0)} s. ` +
        `The changed rule set maps a portal user who registered but never logged in to ACTIVE instead of PENDING. Reprojection is timed from RuleSetLifecycleService.publish ` +
        `(validation with stored values, the switch) until ReprojectionService reports the job done` +
        (reprojection.capped ? `; it was stopped (superseded) at the ${size.reprojectionCapS} s cap to keep the run under 15 minutes, so the rate is over the customers it processed.` : '.'),
    ],
    data: { size, seedMs, records: seeded.records, queryMs, queryRate, previewQuery: preview.query?.sql, preview: { rate: previewRate, ...preview }, reprojection: { rate: reprojectionRate, ...reprojection } },
  };
}

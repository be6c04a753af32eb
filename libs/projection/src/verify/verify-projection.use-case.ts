import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApplyChangesUseCase } from '../apply-changes.use-case';
import { CachedEntry, CustomerCache } from '../cache/customer.cache';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';
import { ActiveRuleSet } from '../rules/active-rule-set';
import { CustomerResolution, decider } from '../store/customer-resolution';
import { buildView, CUSTOMER_VIEWS_SQL, CustomerWithRecordsRow, LIVE_RECORDS_JSON, recordsOf } from '../store/customer-view.builder';
import { CustomerState, VerifyDifference, VerifyKind, VerifyReport, zeroCounts } from './verify-report.model';
import { VerifyReportStore } from './verify-report.store';

export interface VerifyOptions {
  /** Also compare the Redis entries with PostgreSQL. */
  cache?: boolean;
  /** Resolve differing customers again through the projection path; drop differing cache entries. */
  repair?: boolean;
  /** How many differences to list (all are counted); default 20. */
  limit?: number;
  /** Customers per page; default 2,000. */
  batchSize?: number;
  /**
   * How long a cache entry may trail PostgreSQL before it counts: a writer caches after its commit,
   * so an entry one version behind is looked at again after this long. Default 1,000 ms.
   */
  cacheGraceMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: { customers: number; total: number; elapsedMs: number }) => void;
}

interface PageRow extends CustomerWithRecordsRow {
  active_version: number;
  reprojecting: number | null;
}

// One statement per page, so that a customer, its records and the active version come from one
// snapshot: a writer committing meanwhile is seen entirely or not at all.
const PAGE_SQL = `
  WITH page AS (SELECT * FROM customer WHERE id > $1 ORDER BY id LIMIT $2)
  SELECT (SELECT version FROM active_rule_set) AS active_version,
         (SELECT max(version) FROM reprojection WHERE state = 'running') AS reprojecting,
         c.id, c.status, c.reason, c.status_since, c.updated_at, c.version, c.live, c.rule_set_version,
         ${LIVE_RECORDS_JSON} AS records
  FROM page c ORDER BY c.id`;

// Live records whose customer has no row at all (a writer that stored a record and never resolved its customer).
const ORPHANS_SQL = `
  SELECT s.customer_id, count(*)::int AS records FROM source_record s
  WHERE NOT s.deleted AND s.customer_id > $1 AND NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = s.customer_id)
  GROUP BY s.customer_id ORDER BY s.customer_id LIMIT $2`;

const state = (c: { status: string | null; reason: string | null; live: boolean; version: string | number | null }): CustomerState => ({
  status: c.status,
  reason: c.reason,
  live: c.live,
  version: c.version === null ? null : Number(c.version),
});

/**
 * The projection checked against itself: every customer is resolved again from its stored
 * records with the active rule set and compared with what is stored (and, with `cache`, with
 * Redis). Pages of customers in id order, so memory stays flat whatever the size; the first
 * differences are kept, all are counted. Reconcile compares the view with the legacy systems;
 * this compares it with itself.
 */
@Injectable()
export class VerifyProjectionUseCase {
  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    private readonly rules: ActiveRuleSet,
    private readonly resolution: CustomerResolution,
    private readonly cache: CustomerCache,
    private readonly applyChanges: ApplyChangesUseCase,
    private readonly reports: VerifyReportStore,
  ) {}

  async execute(options: VerifyOptions = {}): Promise<VerifyReport> {
    const started = Date.now();
    const limit = options.limit ?? 20;
    const pageSize = options.batchSize ?? 2000;
    const [{ total }] = (await this.db.query('SELECT count(*)::int AS total FROM customer')) as Array<{ total: number }>;
    const report: VerifyReport = {
      startedAt: new Date(started).toISOString(),
      finishedAt: '',
      ruleSetVersion: 0,
      customers: 0,
      records: 0,
      cacheChecked: options.cache === true,
      counts: zeroCounts(),
      pendingReprojection: 0,
      repaired: options.repair ? zeroCounts() : null,
      first: [],
      agreed: false,
      interrupted: false,
    };
    const found = (d: VerifyDifference) => {
      report.counts[d.kind]++;
      if (report.first.length < limit) report.first.push(d);
    };

    let after = '';
    for (;;) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        break;
      }
      const rows = (await this.db.query(PAGE_SQL, [after, pageSize])) as PageRow[];
      if (rows.length === 0) break;
      after = rows[rows.length - 1].id;
      const differing = await this.checkPage(rows, report, found);
      if (options.cache) {
        // A customer that differs in PostgreSQL already is resolved again by a repair, cache included.
        const consistent = rows.filter((r) => !differing.has(r.id));
        for (const id of await this.checkCache(consistent, options.cacheGraceMs ?? 1000, found)) kindsOf(differing, id).add('cache');
      }
      if (options.repair && differing.size > 0) await this.repair(differing, report.repaired!);
      report.customers += rows.length;
      options.onProgress?.({ customers: report.customers, total, elapsedMs: Date.now() - started });
    }
    if (!report.interrupted) await this.checkOrphans(report, found, options.repair === true, pageSize);

    report.finishedAt = new Date().toISOString();
    report.agreed =
      !report.interrupted && (Object.keys(report.counts) as VerifyKind[]).every((k) => report.counts[k] - (report.repaired?.[k] ?? 0) === 0);
    if (!report.interrupted) await this.reports.save(report);
    return report;
  }

  /** Resolves the page's customers again; returns the customers to repair, with the kinds found. */
  private async checkPage(rows: PageRow[], report: VerifyReport, found: (d: VerifyDifference) => void): Promise<Map<string, Set<VerifyKind>>> {
    const differing = new Map<string, Set<VerifyKind>>();
    const activeVersion = rows[0].active_version;
    const rules = await this.rules.version(activeVersion);
    report.ruleSetVersion = activeVersion;
    const decide = decider(rules.compiled);
    const now = Date.now();
    for (const row of rows) {
      const records = recordsOf(row);
      report.records += records.length;
      const stored = state(row);
      const mark = (kind: VerifyKind, expected: CustomerState, detail: string) => {
        found({ kind, customerId: row.id, stored, expected, detail });
        kindsOf(differing, row.id).add(kind);
      };
      if (records.length === 0) {
        if (row.live) mark('liveness', { ...stored, live: false }, 'live, but none of its records is');
        continue;
      }
      if (!row.live) {
        mark('liveness', { ...stored, live: true }, `not live, but ${records.length} of its records are`);
        continue;
      }
      const remapped = records.map((r) => {
        const again = this.resolution.remap(r, rules.compiled, now);
        return again ? { ...r, status: again.status, rule: again.rule } : r;
      });
      const decided = decide(remapped);
      const moved = remapped.filter((r, i) => r.status !== records[i].status || r.rule !== records[i].rule);
      const statusDiffers = decided.status !== row.status || decided.reason !== row.reason;
      // Customers a running reprojection has not reached yet are expected to differ.
      if ((statusDiffers || moved.length > 0) && row.reprojecting === activeVersion && row.rule_set_version !== activeVersion) {
        report.pendingReprojection++;
        continue;
      }
      if (statusDiffers) {
        mark('status', { ...stored, status: decided.status, reason: decided.reason }, `resolved again with rule set version ${activeVersion}: ${decided.status} (${decided.reason})`);
      }
      if (moved.length > 0) {
        const r = moved[0];
        const was = records[remapped.indexOf(r)];
        mark('mapping', stored, `${r.system}/${r.record_key} is stored as ${was.status} (${was.rule}), maps to ${r.status} (${r.rule}) now`);
      }
    }
    return differing;
  }

  /** Ids whose Redis entry differs from PostgreSQL, looked at twice (`graceMs` apart) so that a writer between its commit and its cache write is not counted. */
  private async checkCache(rows: PageRow[], graceMs: number, found: (d: VerifyDifference) => void): Promise<string[]> {
    const first = this.cacheMismatches(rows, await this.cache.read(rows.map((r) => r.id)));
    if (first.length === 0) return [];
    await new Promise((r) => setTimeout(r, graceMs));
    const again = (await this.db.query(CUSTOMER_VIEWS_SQL, [first.map((d) => d.customerId)])) as CustomerWithRecordsRow[];
    const mismatches = this.cacheMismatches(again, await this.cache.read(again.map((r) => r.id)));
    for (const m of mismatches) found(m);
    return mismatches.map((m) => m.customerId);
  }

  private cacheMismatches(rows: CustomerWithRecordsRow[], cached: Array<CachedEntry | undefined>): VerifyDifference[] {
    const out: VerifyDifference[] = [];
    rows.forEach((row, i) => {
      const entry = cached[i];
      // A miss is not a difference: Redis may evict anything, and a read refills it.
      if (entry === undefined) return;
      const version = Number(row.version);
      const expected = row.live ? JSON.stringify(buildView(row, recordsOf(row))) : null;
      const actual = entry.view === null ? null : JSON.stringify(entry.view);
      if (entry.version === version && actual === expected) return;
      const detail =
        entry.version !== version ? `Redis holds version ${entry.version}, PostgreSQL ${version}` : `Redis holds another view than PostgreSQL at version ${version}`;
      const cachedState: CustomerState = entry.view
        ? { status: entry.view.status, reason: entry.view.reason, live: true, version: entry.version }
        : { status: null, reason: null, live: false, version: entry.version };
      out.push({ kind: 'cache', customerId: row.id, stored: cachedState, expected: state(row), detail });
    });
    return out;
  }

  private async checkOrphans(report: VerifyReport, found: (d: VerifyDifference) => void, repair: boolean, pageSize: number): Promise<void> {
    let after = '';
    for (;;) {
      const rows = (await this.db.query(ORPHANS_SQL, [after, pageSize])) as Array<{ customer_id: string; records: number }>;
      if (rows.length === 0) return;
      after = rows[rows.length - 1].customer_id;
      for (const r of rows) {
        report.records += r.records;
        found({
          kind: 'orphan',
          customerId: r.customer_id,
          stored: { status: null, reason: null, live: false, version: null },
          expected: { status: null, reason: null, live: true, version: null },
          detail: `${r.records} live record(s), no customer row`,
        });
      }
      if (repair) await this.repair(new Map(rows.map((r) => [r.customer_id, new Set<VerifyKind>(['orphan'])])), report.repaired!);
    }
  }

  /**
   * Through the projection path: customers resolved again (new versions, cached); customers whose
   * only difference is their cache entry have it dropped from Redis (the next read refills it).
   */
  private async repair(differing: Map<string, Set<VerifyKind>>, repaired: Record<VerifyKind, number>): Promise<void> {
    const resolve: string[] = [];
    const evict: string[] = [];
    for (const [id, kinds] of differing) {
      if (!(kinds.size === 1 && kinds.has('cache'))) resolve.push(id);
      // A customer row created anew starts at version 1, which an entry left in Redis may hold too.
      if (kinds.has('cache') || kinds.has('orphan')) evict.push(id);
      for (const kind of kinds) repaired[kind]++;
    }
    if (resolve.length > 0) await this.applyChanges.resolveAgain(resolve);
    if (evict.length > 0) await this.cache.evict(evict);
  }
}

function kindsOf(differing: Map<string, Set<VerifyKind>>, id: string): Set<VerifyKind> {
  let kinds = differing.get(id);
  if (!kinds) differing.set(id, (kinds = new Set()));
  return kinds;
}

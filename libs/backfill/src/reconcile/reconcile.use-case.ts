import { Injectable } from '@nestjs/common';
import { ChangeEvent, isNewer, SourcePosition } from '@app/change-events';
import { SourceSystem } from '@app/config';
import { ActiveRuleSet, ApplyChangesUseCase, isTransient, SourceRecordRepository, StoredRecord } from '@app/projection';
import { MappingResult, RuleEvaluationError } from '@app/rules';
import { BackfillError, describeCause, pageSize } from '../backfill.errors';
import { LegacyEventBuilder } from '../backfill/legacy-event.builder';
import { sleep } from '../backfill/rate.limiter';
import { LegacyRecord, LegacySource } from '../legacy/legacy-source';
import { LegacySourceFactory } from '../legacy/legacy-source.factory';
import { keyComparator, recordKeyOf } from './key-order';
import { Difference, DifferenceKind, ReconcileReport, RecordSide } from './reconcile-report.model';
import { ReconcileReportStore } from './reconcile-report.store';
import { ReconcileMetrics } from './reconcile.metrics';
import { StoredRecordStream, StoredRow } from './stored-record.stream';

export interface ReconcileOptions {
  system: string;
  /** Re-apply the legacy rows that differ, and delete the view's records the legacy table no longer has. */
  repair?: boolean;
  /** How many differences the report lists (all are counted). */
  limit?: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { system: string; rowsRead: number; total: number; elapsedMs: number; differences: number }) => void;
  onNotice?: (message: string) => void;
}

/** A difference seen in the merge, confirmed or dropped against fresh reads before it counts. */
interface Candidate {
  kind: DifferenceKind;
  recordKey: string;
  key: string[];
  legacy: { event: ChangeEvent; mapped: MappingResult } | null;
}

interface Run {
  system: SourceSystem;
  source: LegacySource;
  start: SourcePosition;
  report: ReconcileReport;
  limit: number;
  repair: boolean;
  signal?: AbortSignal;
}

/**
 * Compares a legacy table with the view's source records of that system: both are streamed in one
 * key order and merged, so memory holds a page of each whatever the table size. A difference seen
 * in the merge is read again (view and legacy, by key) before it counts, so changes racing the
 * run are not reported as drift; `--repair` sends the confirmed ones through the projection path.
 */
@Injectable()
export class ReconcileUseCase {
  constructor(
    private readonly sources: LegacySourceFactory,
    private readonly events: LegacyEventBuilder,
    private readonly stored: SourceRecordRepository,
    private readonly apply: ApplyChangesUseCase,
    private readonly rules: ActiveRuleSet,
    private readonly reports: ReconcileReportStore,
    private readonly metrics: ReconcileMetrics,
  ) {}

  async execute(options: ReconcileOptions): Promise<ReconcileReport> {
    const started = Date.now();
    const system = this.sources.system(options.system);
    const batchSize = pageSize(options.batchSize);
    const source = await this.sources.open(system.name);
    let storedStream: StoredRecordStream | undefined;
    try {
      const block = await source.currentPosition(options.onNotice);
      const start = this.events.position(system, block);
      const run: Run = {
        system,
        source,
        start,
        limit: options.limit ?? 20,
        repair: options.repair ?? false,
        signal: options.signal,
        report: {
          system: system.name,
          source: source.description,
          startedAt: new Date(started).toISOString(),
          finishedAt: '',
          position: start.text,
          legacyRows: 0,
          viewRecords: 0,
          counts: { missing: 0, gone: 0, differs: 0, unmappable: 0, inFlight: 0 },
          repaired: options.repair ? { missing: 0, gone: 0, differs: 0 } : null,
          agreed: false,
          differences: [],
          unmappableSamples: [],
          interrupted: false,
          durationMs: 0,
        },
      };
      try {
        storedStream = await StoredRecordStream.open(this.stored, system.name, source.keyColumns, batchSize);
      } catch (e) {
        throw new BackfillError('UNREACHABLE', `the statusview database is unreachable: ${describeCause(e)}`, e);
      }
      const total = await source.estimateRows();
      await this.merge(run, storedStream, batchSize, (rowsRead) =>
        options.onProgress?.({ system: system.name, rowsRead, total: Math.max(total, rowsRead), elapsedMs: Date.now() - started, differences: countOf(run.report) }),
      );
      const { report } = run;
      report.interrupted = options.signal?.aborted ?? false;
      const left = (k: DifferenceKind) => report.counts[k] - (report.repaired?.[k] ?? 0);
      report.agreed = !report.interrupted && left('missing') === 0 && left('gone') === 0 && left('differs') === 0;
      report.finishedAt = new Date().toISOString();
      report.durationMs = Date.now() - started;
      if (!report.interrupted) {
        await this.reports.save(report);
        this.metrics.record(report);
      }
      return report;
    } finally {
      await storedStream?.close();
      await source.close();
    }
  }

  private async merge(run: Run, stored: StoredRecordStream, batchSize: number, progress: (rowsRead: number) => void): Promise<void> {
    const compare = keyComparator(run.source.keyColumns);
    let legacy: LegacyRecord[] = [];
    let li = 0;
    let legacyDone = false;
    let after: string[] | null = null;
    let view: StoredRow[] = [];
    let si = 0;
    let viewDone = false;
    let pending: Candidate[] = [];
    for (;;) {
      if (li === legacy.length && !legacyDone) {
        await this.verify(run, pending);
        pending = [];
        if (run.report.legacyRows > 0) progress(run.report.legacyRows);
        if (run.signal?.aborted) return;
        try {
          legacy = await run.source.readBatch(after, batchSize, 'bytes');
        } catch (e) {
          throw new BackfillError('UNREACHABLE', `${run.system.name}: reading the ${run.source.description} failed: ${describeCause(e)}`, e);
        }
        li = 0;
        if (legacy.length === 0) legacyDone = true;
        else after = legacy[legacy.length - 1].key;
        run.report.legacyRows += legacy.length;
      }
      if (si === view.length && !viewDone) {
        try {
          view = await stored.read();
        } catch (e) {
          throw new BackfillError('UNREACHABLE', `reading the view's ${run.system.name} records failed: ${describeCause(e)}`, e);
        }
        si = 0;
        if (view.length === 0) viewDone = true;
      }
      const l = legacy[li];
      const s = view[si];
      if (l === undefined && s === undefined) break;
      const c = l === undefined ? 1 : s === undefined ? -1 : compare(l.key, s.key);
      if (c > 0) {
        si++;
        if (s.deleted) continue;
        run.report.viewRecords += 1;
        pending.push({ kind: 'gone', recordKey: s.recordKey, key: s.key, legacy: null });
      } else {
        li++;
        if (c === 0) {
          si++;
          if (!s.deleted) run.report.viewRecords += 1;
        }
        const mapped = this.mapLegacy(run, l);
        if (!mapped) continue;
        const kind = c < 0 ? 'missing' : differenceOf(mapped, toSide(s));
        if (kind) pending.push({ kind, recordKey: mapped.event.recordKey, key: l.key, legacy: mapped });
      }
      // A view far ahead of the legacy table (everything gone) must not pile up candidates.
      if (pending.length >= batchSize) {
        await this.verify(run, pending);
        pending = [];
      }
    }
    await this.verify(run, pending);
    progress(run.report.legacyRows);
  }

  private mapLegacy(run: Run, l: LegacyRecord): { event: ChangeEvent; mapped: MappingResult } | null {
    const built = this.events.read(run.system, l.row, run.start);
    const key = l.key.length === 1 ? l.key[0] : JSON.stringify(l.key);
    if (!built.ok) {
      this.unmappable(run, key, built.reason);
      return null;
    }
    try {
      return { event: built.event, mapped: this.rules.current().compiled.map(run.system.name, built.event.row) };
    } catch (e) {
      if (!(e instanceof RuleEvaluationError)) throw e;
      this.unmappable(run, key, `cannot be mapped: ${e.message}`);
      return null;
    }
  }

  private unmappable(run: Run, recordKey: string, reason: string): void {
    run.report.counts.unmappable += 1;
    if (run.report.unmappableSamples.length < run.limit) run.report.unmappableSamples.push({ recordKey, reason });
  }

  /**
   * Reads each candidate's record again, now: the merge compared a legacy row read just now with a
   * view snapshot taken at the start. A view record changed by an event newer than the start is
   * in flight; a gone record that exists in the legacy table again was inserted behind the merge.
   */
  private async verify(run: Run, candidates: Candidate[]): Promise<void> {
    if (candidates.length === 0) return;
    const fresh = await this.stored.byKeys(run.system.name, candidates.map((c) => c.recordKey));
    const goneKeys = candidates.filter((c) => c.kind === 'gone').map((c) => c.key);
    const backInLegacy = new Set((await run.source.readKeys(goneKeys)).map((r) => recordKeyOf(r.key, run.source.keyColumns)));
    const confirmed: Difference[] = [];
    const repairs: Record<DifferenceKind, ChangeEvent[]> = { missing: [], gone: [], differs: [] };
    for (const c of candidates) {
      const now = fresh.get(c.recordKey);
      if (now && isNewer(now.position, run.start)) {
        run.report.counts.inFlight += 1;
        continue;
      }
      let kind: DifferenceKind | null;
      if (c.legacy) kind = !now || now.deleted ? 'missing' : differenceOf(c.legacy, storedSide(now));
      else if (backInLegacy.has(c.recordKey)) {
        run.report.counts.inFlight += 1;
        continue;
      } else kind = now && !now.deleted ? 'gone' : null;
      if (!kind) continue;
      run.report.counts[kind] += 1;
      confirmed.push(describe(kind, c, now));
      if (!run.repair) continue;
      if (c.legacy) repairs[kind].push(c.legacy.event);
      else {
        const built = this.events.delete(run.system, c.recordKey, run.start);
        if (built.ok) repairs.gone.push(built.event);
        else this.unmappable(run, c.recordKey, built.reason);
      }
    }
    for (const d of confirmed) if (run.report.differences.length < run.limit) run.report.differences.push(d);
    if (!run.repair || !run.report.repaired) return;
    for (const kind of ['missing', 'differs', 'gone'] as const) {
      if (repairs[kind].length === 0) continue;
      const outcome = await this.applyWithRetry(repairs[kind]);
      run.report.repaired[kind] += outcome;
    }
  }

  private async applyWithRetry(events: ChangeEvent[]): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.apply.execute(events)).applied;
      } catch (e) {
        if (!isTransient(e) || attempt >= 6) throw new BackfillError('PROJECTION_FAILED', `the projection refused a repair: ${describeCause(e)}`, e);
        await sleep(Math.min(200 * 2 ** attempt, 5000));
      }
    }
  }
}

function toSide(s: StoredRow): RecordSide & { deleted: boolean } {
  return { customerId: s.customerId, status: s.status, rule: s.rule, deleted: s.deleted };
}

function storedSide(s: StoredRecord): RecordSide & { deleted: boolean } {
  return { customerId: s.customerId, status: s.status, rule: s.rule, deleted: s.deleted };
}

/** What the view derives from a record: its customer, mapped status and mapping rule. Raw-only changes are not drift. */
function differenceOf(legacy: { event: ChangeEvent; mapped: MappingResult }, view: RecordSide & { deleted: boolean }): DifferenceKind | null {
  if (view.deleted) return 'missing';
  const same = view.customerId === legacy.event.customerId && view.status === legacy.mapped.status && view.rule === legacy.mapped.rule;
  return same ? null : 'differs';
}

function describe(kind: DifferenceKind, c: Candidate, now: StoredRecord | undefined): Difference {
  const legacy: RecordSide | null = c.legacy
    ? { customerId: c.legacy.event.customerId, status: c.legacy.mapped.status, rule: c.legacy.mapped.rule }
    : null;
  const view = now ? { customerId: now.customerId, status: now.status, rule: now.rule, deleted: now.deleted, position: now.position.text } : null;
  let detail: string;
  switch (kind) {
    case 'missing':
      detail = view ? 'deleted in the view, present in the legacy table' : 'not in the view';
      break;
    case 'gone':
      detail = 'in the view, no longer in the legacy table';
      break;
    case 'differs': {
      const parts: string[] = [];
      if (legacy && view) {
        if (legacy.customerId !== view.customerId) parts.push(`customer ${view.customerId} → ${legacy.customerId}`);
        if (legacy.status !== view.status) parts.push(`status ${view.status} → ${legacy.status}`);
        if (legacy.rule !== view.rule) parts.push(`rule ${view.rule} → ${legacy.rule}`);
      }
      detail = `view → legacy: ${parts.join(', ')}`;
      break;
    }
  }
  return { kind, recordKey: c.recordKey, customerId: legacy?.customerId ?? view?.customerId ?? null, legacy, view, detail };
}

function countOf(r: ReconcileReport): number {
  return r.counts.missing + r.counts.gone + r.counts.differs;
}


import { Injectable } from '@nestjs/common';
import { ChangeEvent, isNewer, SourcePosition } from '@app/change-events';
import { SourceSystem } from '@app/config';
import { ActiveRuleSet, ApplyChangesUseCase, ApplyOutcome, isTransient, KnownCustomers, SourceRecordRepository, StoredRecord } from '@app/projection';
import { RuleEvaluationError } from '@app/rules';
import { BackfillError, describeCause, pageSize } from '../backfill.errors';
import { LegacyRecord, LegacySource } from '../legacy/legacy-source';
import { LegacySourceFactory } from '../legacy/legacy-source.factory';
import { BackfillCheckpointStore, BackfillCounters } from './backfill-checkpoint.store';
import { LegacyEventBuilder } from './legacy-event.builder';
import { RateLimiter, sleep } from './rate.limiter';

export interface BackfillOptions {
  system: string;
  /** Go on after the last committed batch of an earlier run, with that run's start position. */
  resume?: boolean;
  /** Read, map and compare with the view; write nothing. */
  dryRun?: boolean;
  batchSize?: number;
  /** Pages projected at once (default 2): the next page is read and decoded while one commits. */
  concurrency?: number;
  /** Rows per second at most; null or undefined: no cap. */
  rate?: number | null;
  /**
   * Rows whose records and customers the view does not know yet take the projection's
   * initial-load path (COPY; new customers are cached on first read). Default true; false sends
   * every page through the general path, as live events go.
   */
  initialLoad?: boolean;
  /** How many unmappable rows and would-be changes to keep as samples. */
  sampleSize?: number;
  signal?: AbortSignal;
  /** Called after each committed batch; a promise returned is awaited (the next batch waits). */
  onProgress?: (progress: BackfillProgress) => void | Promise<void>;
  onNotice?: (message: string) => void;
}

export interface BackfillProgress extends BackfillCounters {
  system: string;
  /** The position backfilled rows are stored with (`lsn:…`, `file:pos:row` or `ts_ms:…`). */
  startPosition: string;
  /** Estimated rows in the table (statistics); may be below rowsRead. */
  total: number;
  elapsedMs: number;
  /** Rows read by this process (a resumed run's rate counts only its own). */
  rowsThisRun: number;
}

export interface RowProblem {
  recordKey: string;
  reason: string;
}

export interface WouldChange {
  recordKey: string;
  customerId: string | null;
  from: string | null;
  to: string;
}

export interface DryRunCounts {
  /** Not in the view, or deleted there. */
  wouldInsert: number;
  /** In the view with other values, and the backfilled row would be newer. */
  wouldUpdate: number;
  /** In the view with other values, but the view holds a newer change event: it would stay. */
  keptNewer: number;
  /** Records whose mapped status would change (inserted or updated). */
  statusChanges: number;
  samples: WouldChange[];
}

export interface BackfillSummary extends BackfillCounters {
  system: string;
  source: string;
  startPosition: string;
  resumedFrom: string[] | null;
  /** Rows whose raw values the view already holds: not sent again. */
  unchanged: number;
  /** Rows sent to the projection that a newer change event had already overtaken. */
  stale: number;
  unmappableSamples: RowProblem[];
  durationMs: number;
  interrupted: boolean;
  /** A resume of a run that had already finished: nothing read. */
  alreadyFinished: boolean;
  dryRun: DryRunCounts | null;
}

const RETRIES = 6;

/** A legacy connection lost mid-run is one clear line; the checkpoint says where to resume. */
async function readPage(source: LegacySource, after: string[] | null, size: number): Promise<LegacyRecord[]> {
  try {
    return await source.readBatch(after, size, 'index');
  } catch (e) {
    throw new BackfillError('UNREACHABLE', `${source.system.name}: reading the ${source.description} failed: ${describeCause(e)}; run again with --resume`, e);
  }
}

interface PageResult {
  rows: number;
  lastKey: string[];
  unchanged: number;
  applied: number;
  stale: number;
  customersChanged: number;
  unmappable: Array<{ key: string[]; reason: string }>;
}

/**
 * Loads a system's legacy table into the projection through the one projection path: each row
 * becomes the change event a Debezium snapshot would send, stored with the source position read
 * when the run started (see docs/backfill.md). Keyset pages in primary-key order, one projection
 * transaction and one checkpoint per page: memory does not grow with the table.
 */
@Injectable()
export class BackfillUseCase {
  constructor(
    private readonly sources: LegacySourceFactory,
    private readonly events: LegacyEventBuilder,
    private readonly stored: SourceRecordRepository,
    private readonly checkpoints: BackfillCheckpointStore,
    private readonly apply: ApplyChangesUseCase,
    private readonly rules: ActiveRuleSet,
  ) {}

  async execute(options: BackfillOptions): Promise<BackfillSummary> {
    const started = Date.now();
    const system = this.sources.system(options.system);
    const batchSize = pageSize(options.batchSize);
    const sampleSize = options.sampleSize ?? 20;
    const dry = options.dryRun ?? false;
    const notice = options.onNotice ?? (() => undefined);
    const source = await this.sources.open(system.name);
    try {
      const checkpoint = options.resume ? await this.checkpoints.get(system.name) : null;
      const summary: BackfillSummary = {
        system: system.name,
        source: source.description,
        startPosition: '',
        resumedFrom: null,
        rowsRead: 0,
        recordsChanged: 0,
        customersChanged: 0,
        unmappable: 0,
        unchanged: 0,
        stale: 0,
        unmappableSamples: [],
        durationMs: 0,
        interrupted: false,
        alreadyFinished: false,
        dryRun: dry ? { wouldInsert: 0, wouldUpdate: 0, keptNewer: 0, statusChanges: 0, samples: [] } : null,
      };
      if (options.resume && !checkpoint) notice(`${system.name}: no checkpoint to resume from; starting from the first row`);
      if (checkpoint?.finishedAt) {
        notice(`${system.name}: the backfill that started at ${checkpoint.startedAt.toISOString()} finished at ${checkpoint.finishedAt.toISOString()}; nothing to resume`);
        return { ...summary, startPosition: checkpoint.startPosition, alreadyFinished: true, durationMs: Date.now() - started };
      }
      const block = checkpoint ? checkpoint.sourceBlock : await source.currentPosition(notice);
      const position = this.events.position(system, block);
      summary.startPosition = position.text;
      let after: string[] | null = null;
      if (checkpoint) {
        after = checkpoint.lastKey;
        summary.resumedFrom = after;
        Object.assign(summary, {
          rowsRead: checkpoint.rowsRead,
          recordsChanged: checkpoint.recordsChanged,
          customersChanged: checkpoint.customersChanged,
          unmappable: checkpoint.unmappable,
        });
      } else if (!dry) {
        await this.checkpoints.start(system.name, block, position.text);
      }
      const total = await source.estimateRows();
      const limiter = new RateLimiter(options.rate ?? null);
      const size = limiter.batchSize(batchSize);
      let rowsThisRun = 0;

      // Pages are read and decoded while earlier ones are being projected; the checkpoint only
      // moves over pages whose projection committed, in key order, whatever order they finish in.
      const concurrency = dry ? 1 : Math.max(1, options.concurrency ?? 2);
      const inFlight: Array<Promise<PageResult>> = [];
      // Whether pages may take the initial-load path, and whether the next one is expected to (see `page`).
      const hint = { initialLoad: !dry && (options.initialLoad ?? true), expectNew: true };
      const finish = async (page: PageResult): Promise<void> => {
        summary.rowsRead += page.rows;
        rowsThisRun += page.rows;
        summary.unchanged += page.unchanged;
        summary.recordsChanged += page.applied;
        summary.stale += page.stale;
        summary.customersChanged += page.customersChanged;
        for (const u of page.unmappable) this.unmappable(summary, u.key, u.reason, sampleSize);
        if (!dry) await this.checkpoints.advance(system.name, page.lastKey, summary);
        await options.onProgress?.({
          system: system.name,
          startPosition: position.text,
          total: Math.max(total, summary.rowsRead),
          elapsedMs: Date.now() - started,
          rowsThisRun,
          rowsRead: summary.rowsRead,
          recordsChanged: summary.recordsChanged,
          customersChanged: summary.customersChanged,
          unmappable: summary.unmappable,
        });
      };
      try {
        while (!options.signal?.aborted) {
          const records = await readPage(source, after, size);
          if (records.length === 0) break;
          after = records[records.length - 1].key;
          inFlight.push(this.page(system, records, position, dry ? summary : null, sampleSize, hint, options.signal));
          while (inFlight.length >= concurrency) await finish(await (inFlight.shift() as Promise<PageResult>));
          if (records.length < size) break;
          await limiter.took(records.length, options.signal);
        }
      } finally {
        // Pages already sent are waited for (and checkpointed) even when stopping or failing.
        const settled = await Promise.allSettled(inFlight);
        for (const r of settled) if (r.status === 'fulfilled') await finish(r.value);
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      summary.interrupted = options.signal?.aborted ?? false;
      if (!summary.interrupted && !dry) await this.checkpoints.finish(system.name);
      summary.durationMs = Date.now() - started;
      return summary;
    } finally {
      await source.close();
    }
  }

  /** One page: decode, drop what the view already holds, project the rest (or, dry, compare). */
  private async page(
    system: SourceSystem,
    records: LegacyRecord[],
    position: SourcePosition,
    dry: BackfillSummary | null,
    sampleSize: number,
    hint: { initialLoad: boolean; expectNew: boolean },
    signal?: AbortSignal,
  ): Promise<PageResult> {
    const result: PageResult = { rows: records.length, lastKey: records[records.length - 1].key, unchanged: 0, applied: 0, stale: 0, customersChanged: 0, unmappable: [] };
    const events: ChangeEvent[] = [];
    for (const r of records) {
      const built = this.events.read(system, r.row, position);
      if (built.ok) events.push(built.event);
      else result.unmappable.push({ key: r.key, reason: built.reason });
    }
    // A page of records and customers the view does not know yet is loaded as it is: no row of it
    // can be unchanged. When some of its customers are known (live events that came first, say),
    // the rows of the others are loaded so, and only the known ones' go the general way below. Not
    // tried after a page that was mostly stored already (a second run, a resume): the lookup below
    // then comes first, until a page is mostly new again.
    let rest = events;
    let loadedSome = false;
    if (hint.initialLoad && hint.expectNew && events.length > 0) {
      let loaded = await this.applyWithRetry(events, true, signal);
      if (loaded && 'known' in loaded) {
        const { known } = loaded;
        const isKnown = (e: ChangeEvent) => e.customerId !== null && known.has(e.customerId);
        const fresh = events.filter((e) => !isKnown(e));
        loaded = fresh.length > 0 ? await this.applyWithRetry(fresh, true, signal) : null;
        if (loaded && !('known' in loaded)) {
          this.count(result, loaded, fresh);
          rest = events.filter(isKnown);
          loadedSome = true;
        }
      } else if (loaded) {
        this.count(result, loaded, events);
        return result;
      }
    }
    const current = await this.stored.byKeys(system.name, rest.map((e) => e.recordKey));
    // Mostly new: a few records stored by live events do not make a page a re-run's.
    hint.expectNew = loadedSome || current.size * 2 < rest.length;
    // A row the view already holds with the same values would only bump versions: not sent.
    const changed = rest.filter((e) => {
      const s = current.get(e.recordKey);
      const same = s !== undefined && !s.deleted && sameRaw(s.raw, e.raw);
      if (same) result.unchanged += 1;
      return !same;
    });
    if (dry) this.compare(dry, changed, current, await this.stored.truncateWatermark(system.name), sampleSize);
    else if (changed.length > 0) this.count(result, await this.applyWithRetry(changed, false, signal), changed);
    return result;
  }

  private count(result: PageResult, outcome: ApplyOutcome, events: ChangeEvent[]): void {
    result.applied += outcome.applied;
    result.stale += outcome.stale;
    result.customersChanged += outcome.statusChanges.length;
    for (const r of outcome.rejected) result.unmappable.push({ key: [events[r.index].recordKey], reason: r.error.message });
  }

  private unmappable(summary: BackfillSummary, key: string[], reason: string, sampleSize: number): void {
    summary.unmappable += 1;
    if (summary.unmappableSamples.length < sampleSize) summary.unmappableSamples.push({ recordKey: key.length === 1 ? key[0] : JSON.stringify(key), reason });
  }

  /** What a real run would do with these rows, by the same position rule the store applies. */
  private compare(
    summary: BackfillSummary,
    events: ChangeEvent[],
    current: Map<string, StoredRecord>,
    truncated: SourcePosition | null,
    sampleSize: number,
  ): void {
    const dry = summary.dryRun as DryRunCounts;
    const { compiled } = this.rules.current();
    const now = Date.now();
    for (const e of events) {
      const s = current.get(e.recordKey);
      // Kept: the view holds a newer change of the record, or the table was truncated after the start.
      if ((s && !s.deleted && !isNewer(e.position, s.position)) || (truncated && !isNewer(e.position, truncated))) {
        dry.keptNewer += 1;
        continue;
      }
      if (!s || s.deleted) dry.wouldInsert += 1;
      else dry.wouldUpdate += 1;
      let to: string;
      try {
        to = compiled.map(e.system, e.row, now).status;
      } catch (err) {
        if (!(err instanceof RuleEvaluationError)) throw err;
        this.unmappable(summary, [e.recordKey], `cannot be mapped: ${err.message}`, sampleSize);
        continue;
      }
      const from = s && !s.deleted ? s.status : null;
      if (from !== to) {
        dry.statusChanges += 1;
        if (dry.samples.length < sampleSize) dry.samples.push({ recordKey: e.recordKey, customerId: e.customerId, from, to });
      }
    }
  }

  /**
   * PostgreSQL or Redis restarting is waited out; anything else stops the run (resume later).
   * `initialLoad`: the projection's initial-load path; the known customers or null when the page cannot take it.
   */
  private async applyWithRetry(events: ChangeEvent[], initialLoad: true, signal?: AbortSignal): Promise<ApplyOutcome | KnownCustomers | null>;
  private async applyWithRetry(events: ChangeEvent[], initialLoad: false, signal?: AbortSignal): Promise<ApplyOutcome>;
  private async applyWithRetry(events: ChangeEvent[], initialLoad: boolean, signal?: AbortSignal): Promise<ApplyOutcome | KnownCustomers | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return initialLoad ? await this.apply.executeInitialLoad(events, Date.now()) : await this.apply.execute(events, Date.now());
      } catch (e) {
        if (!isTransient(e) || attempt >= RETRIES || signal?.aborted) {
          throw new BackfillError('PROJECTION_FAILED', `the projection refused a batch: ${describeCause(e)}; run again with --resume`, e);
        }
        await sleep(Math.min(200 * 2 ** attempt, 5000), signal);
      }
    }
  }
}

/** Same columns, same values: jsonb returns the numbers and strings the raw row was stored with. */
function sameRaw(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
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

/**
 * The soak's samples and how its aims (issues 16 and 18) are judged from them: kept apart from the
 * run itself so that the judgement can be tested and the report drawn without the servers.
 */
import { Figure } from '../bench.model';
import { CompactSize, TableFootprint } from '../infra/footprint';
import { percentile } from '../load/http.load';

export interface SoakSize {
  customers: number;
  minutes: number;
  probeCustomers: number;
  calibrationEvents: number;
  /** `customer(id)` requests per second, at a fixed rate over `readConnections`. */
  readsPerSec: number;
  readConnections: number;
  /** A rule set publish every this many minutes (once half-way when the run is shorter). */
  publishEveryMin: number;
  /** Growth is measured from this minute's RSS to the last minute's. */
  warmupMin: number;
  /** HISTORY_KEEP_CHANGES given to the service. */
  historyKeep: number;
}

/** What one minute of the soak measured. */
export interface SoakMinute {
  /** The end of the minute sampled; 0 is the seeded, warmed service before any load (no latencies). */
  minute: number;
  at: string;
  /** Per process group: the mean and highest of 5-second VmRSS samples, and the mean RssAnon (MB). */
  rss: Record<string, { meanMb: number; maxMb: number; anonMeanMb: number; processes: number }>;
  redis: { usedMb: number; rssMb: number };
  freshness: { probes: number; timeouts: number; p50: number; p99: number };
  reads: { requests: number; perSec: number; p50: number; p99: number; errors: number; non2xx: number };
  ingest: { sent: number; perSec: number; queued: number };
  outboxBacklog: number;
  customers: number;
  historyRows: number;
  tables: TableFootprint[];
  /** A rule set publish that started in this minute. */
  publish?: string;
}

export interface SoakPublish {
  minute: number;
  kind: 'publish' | 'rollback';
  version: number;
  state: string;
  processed: number;
  changed: number;
  seconds: number;
  capped: boolean;
  error: string | null;
}

export interface SoakData {
  size: SoakSize;
  startedAt: string;
  maxRate: number;
  calibrated: boolean;
  targetRate: number;
  serviceEnv: Record<string, string>;
  minutes: SoakMinute[];
  publishes: SoakPublish[];
  final: { tables: TableFootprint[]; compact: CompactSize[]; customers: number; historyRows: number; outboxBacklog: number; queued: number; drainS: number };
}

export const RSS_GROUPS = {
  service: 'service (app worker: API + ingest)',
  bench: 'bench process (publisher, probes, reads load)',
  rules: 'rules worker (publish + reprojection)',
  postgres: 'PostgreSQL backends (statusview_bench)',
  redis: 'Redis server',
  rabbit: 'RabbitMQ (beam.smp)',
} as const;

/** Minutes at which a rule set is published: every `every` minutes before the end, or once half-way in a shorter run. */
export function publishMinutes(minutes: number, every: number): number[] {
  const at: number[] = [];
  for (let m = every; m < minutes; m += every) at.push(m);
  return at.length ? at : minutes >= 2 ? [Math.floor(minutes / 2)] : [];
}

/** The warm-up minute growth is measured from: `warmupMin`, or half-way in a run too short for it. */
export function warmupMinute(d: SoakData): number {
  return Math.max(1, Math.min(d.size.warmupMin, Math.floor(d.size.minutes / 2)));
}

const median = (xs: number[]) => percentile(Float64Array.from(xs).sort(), 0.5);

/** The aims of issues 16 and 18, each as a figure that is met or missed. */
export function soakFigures(d: SoakData): Figure[] {
  const figures: Figure[] = [];
  const w = warmupMinute(d);
  const from = d.minutes.find((m) => m.minute === w);
  const last = d.minutes[d.minutes.length - 1];
  const mb = (v: number) => ({ value: v, unit: 'MB' });
  if (from && last) {
    for (const group of Object.values(RSS_GROUPS)) {
      const a = from.rss[group];
      const b = last.rss[group];
      if (!a || !b || !(a.meanMb > 0)) continue;
      const growth = b.meanMb / a.meanMb - 1;
      const anon = a.anonMeanMb > 0 ? ` (RssAnon ${a.anonMeanMb.toFixed(0)} → ${b.anonMeanMb.toFixed(0)} MB)` : '';
      figures.push({
        bench: 'soak',
        name: `RSS of ${group}, minute ${w} → ${last.minute}${group === RSS_GROUPS.postgres ? anon : ''}`,
        value: mb(b.meanMb),
        reference: { name: `RSS at minute ${w}`, ...mb(a.meanMb) },
        ratio: b.meanMb / a.meanMb,
        aim: { text: '≤ 10% growth after warm-up', met: growth <= 0.1 },
      });
    }
  }
  const after = d.minutes.filter((m) => m.minute > w - 1 && m.freshness.probes > 0);
  const p99s = after.map((m) => m.freshness.p99);
  if (p99s.length) {
    const worst = Math.max(...p99s);
    const typical = median(p99s);
    const timeouts = d.minutes.reduce((a, m) => a + m.freshness.timeouts, 0);
    figures.push({
      bench: 'soak',
      name: `freshness p99, worst minute from minute ${w} (${timeouts} probes timed out in all)`,
      value: { value: worst, unit: 'ms' },
      reference: { name: 'median minute p99', value: typical, unit: 'ms' },
      ratio: worst / typical,
      aim: { text: 'steady: ≤ 2× the median minute, < 200 ms, no timeouts', met: worst <= 2 * typical && worst < 200 && timeouts === 0 },
    });
  }
  for (const c of d.final.compact) {
    const t = d.final.tables.find((x) => x.table === c.table);
    if (!t) continue;
    const r = t.totalBytes / c.totalBytes;
    // A nearly empty table (the outbox once relayed) is a few pages either way: 2× of 16 kB says nothing.
    const tiny = t.totalBytes < 1048576;
    figures.push({
      bench: 'soak',
      name: `${c.table} at the end: table + indexes (${t.deadRows.toLocaleString('en')} dead rows, ${t.liveRows.toLocaleString('en')} live)`,
      value: mb(t.totalBytes / 1048576),
      reference: {
        name:
          `a compact copy of its ${c.rows.toLocaleString('en')} rows (same fillfactor, indexes built anew)` +
          (c.table === 'status_outbox' ? '; a queue: its live rows are those not yet relayed, so its live size is a few pages' : ''),
        ...mb(c.totalBytes / 1048576),
      },
      ratio: r,
      aim: { text: tiny ? '≤ 2× live size (or under 1 MB)' : '≤ 2× live size', met: r <= 2 || tiny },
    });
  }
  const bound = d.size.historyKeep * d.final.customers;
  figures.push({
    bench: 'soak',
    name: `status_history rows at the end (HISTORY_KEEP_CHANGES=${d.size.historyKeep})`,
    value: { value: d.final.historyRows, unit: 'rows' },
    reference: { name: `${d.size.historyKeep} × ${d.final.customers.toLocaleString('en')} customers`, value: bound, unit: 'rows' },
    ratio: d.final.historyRows / bound,
    aim: { text: `≤ ${d.size.historyKeep} × customers`, met: d.final.historyRows <= bound },
  });
  if (d.publishes.length) {
    const done = d.publishes.filter((p) => p.state === 'done');
    const failed = d.publishes.find((p) => p.error);
    figures.push({
      bench: 'soak',
      name: `rule set publishes whose reprojection finished (${d.publishes.reduce((a, p) => a + p.changed, 0).toLocaleString('en')} customers changed in all${failed ? `; failed: ${failed.error}` : ''})`,
      value: { value: done.length, unit: 'publishes' },
      reference: { name: 'publishes', value: d.publishes.length, unit: 'publishes' },
      ratio: done.length / d.publishes.length,
      aim: { text: 'every one done while ingest and reads go on', met: done.length === d.publishes.length },
    });
  }
  const reads = d.minutes.filter((m) => m.minute > 0).map((m) => m.reads);
  if (reads.length) {
    const served = reads.reduce((a, r) => a + r.perSec, 0) / reads.length;
    figures.push({
      bench: 'soak',
      name: `customer(id) reads served (p99: median minute ${median(reads.map((r) => r.p99)).toFixed(1)} ms, worst ${Math.max(...reads.map((r) => r.p99)).toFixed(1)} ms; ${reads.reduce((a, r) => a + r.errors + r.non2xx, 0)} errors)`,
      value: { value: served, unit: 'req/s' },
      reference: { name: 'the fixed rate asked', value: d.size.readsPerSec, unit: 'req/s' },
      ratio: served / d.size.readsPerSec,
    });
  }
  return figures;
}


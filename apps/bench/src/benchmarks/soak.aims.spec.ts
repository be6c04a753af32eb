import { publishMinutes, RSS_GROUPS, SoakData, SoakMinute, soakFigures, warmupMinute } from './soak.aims';

function minute(m: number, serviceMb: number, p99: number): SoakMinute {
  return {
    minute: m,
    at: '',
    rss: { [RSS_GROUPS.service]: { meanMb: serviceMb, maxMb: serviceMb, anonMeanMb: 0, processes: 1 }, [RSS_GROUPS.redis]: { meanMb: 10, maxMb: 10, anonMeanMb: 0, processes: 1 } },
    redis: { usedMb: 1, rssMb: 1 },
    freshness: { probes: 100, timeouts: 0, p50: 40, p99 },
    reads: { requests: 18_000, perSec: 300, p50: 2, p99: 9, errors: 0, non2xx: 0 },
    ingest: { sent: 1, perSec: 1, queued: 0 },
    outboxBacklog: 0,
    customers: 10,
    historyRows: 10,
    tables: [],
  };
}

function run(minutes: SoakMinute[], final: Partial<SoakData['final']> = {}): SoakData {
  return {
    size: { customers: 10, minutes: minutes.length, probeCustomers: 2, calibrationEvents: 1, readsPerSec: 300, readConnections: 8, publishEveryMin: 10, warmupMin: 5, historyKeep: 20 },
    startedAt: '',
    maxRate: 2,
    calibrated: true,
    targetRate: 1,
    serviceEnv: {},
    minutes,
    publishes: [],
    final: {
      tables: [{ table: 'status_history', tableBytes: 0, indexBytes: 0, totalBytes: 30 * 1048576, liveRows: 1, deadRows: 0, autovacuums: 0 }],
      compact: [{ table: 'status_history', rows: 1, tableBytes: 0, indexBytes: 0, totalBytes: 10 * 1048576 }],
      customers: 1000,
      historyRows: 20_001,
      outboxBacklog: 0,
      queued: 0,
      drainS: 0,
      ...final,
    },
  };
}

const met = (d: SoakData, name: RegExp) => soakFigures(d).find((f) => name.test(f.name))?.aim?.met;

describe('soak aims', () => {
  it('publishes every 10 minutes before the end, or once half-way in a shorter run', () => {
    expect(publishMinutes(30, 10)).toEqual([10, 20]);
    expect(publishMinutes(31, 10)).toEqual([10, 20, 30]);
    expect(publishMinutes(10, 10)).toEqual([5]);
    expect(publishMinutes(2, 10)).toEqual([1]);
    expect(publishMinutes(1, 10)).toEqual([]);
  });

  it('judges RSS growth from the warm-up minute to the last, per process', () => {
    const flat = Array.from({ length: 30 }, (_, k) => minute(k + 1, k < 4 ? 50 + k * 20 : 120 + k * 0.3, 100));
    expect(warmupMinute(run(flat))).toBe(5);
    // 120 + 4·0.3 at minute 5, 120 + 29·0.3 at minute 30: 6% more, and the climb before minute 5 does not count.
    expect(met(run(flat), /service/)).toBe(true);
    const leaking = Array.from({ length: 30 }, (_, k) => minute(k + 1, 100 + k * 2, 100));
    expect(met(run(leaking), /service/)).toBe(false);
    // A 2-minute trial measures from minute 1.
    expect(warmupMinute(run([minute(1, 100, 100), minute(2, 100, 100)]))).toBe(1);
  });

  it('calls freshness steady when no minute after warm-up has a p99 above twice the median minute', () => {
    const steady = Array.from({ length: 10 }, (_, k) => minute(k + 1, 100, 40 + (k % 3) * 5));
    expect(met(run(steady), /freshness/)).toBe(true);
    // 150 ms is under 200 ms but three times the typical minute: a hiccup, not steady.
    const spike = steady.map((m) => (m.minute === 8 ? { ...m, freshness: { ...m.freshness, p99: 150 } } : m));
    expect(met(run(spike), /freshness/)).toBe(false);
  });

  it('compares each table with its compact copy and history with 20 changes per customer', () => {
    const d = run([minute(1, 100, 100), minute(2, 100, 100)]);
    // 30 MB against a 10 MB copy: 3×, missed; 20,001 rows for 1,000 customers: one over the bound.
    expect(met(d, /^status_history at the end/)).toBe(false);
    expect(met(d, /status_history rows/)).toBe(false);
    const ok = run([minute(1, 100, 100)], { historyRows: 20_000, compact: [{ table: 'status_history', rows: 1, tableBytes: 0, indexBytes: 0, totalBytes: 15 * 1048576 }] });
    expect(met(ok, /^status_history at the end/)).toBe(true);
    expect(met(ok, /status_history rows/)).toBe(true);
  });

  it('counts a publish whose reprojection failed as missed', () => {
    const d = run([minute(1, 100, 100), minute(2, 100, 100)]);
    d.publishes = [{ minute: 1, kind: 'publish', version: 2, state: 'failed', processed: 9000, changed: 1488, seconds: 11, capped: false, error: 'PostgreSQL: deadlock detected' }];
    expect(met(d, /rule set publishes/)).toBe(false);
    d.publishes[0] = { ...d.publishes[0], state: 'done', error: null };
    expect(met(d, /rule set publishes/)).toBe(true);
  });
});

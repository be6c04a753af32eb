import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchName, BenchOutcome, Figure } from '../bench.model';
import { BarGroup, barChart } from './svg-chart';

type Outcomes = Partial<Record<BenchName, BenchOutcome>>;

/** The ratio an aim asks for, when it is one (`≥ 0.5× bare`, `≥ 20× naive, 1 ms away`). */
export function aimRatio(f: Figure): number | undefined {
  const m = /[≥>]\s*([\d.]+)\s*×/.exec(f.aim?.text ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Throughput figures against their references: there higher is better, so one axis reads for all. */
export function ratioGroups(outcomes: Outcomes): BarGroup[] {
  return Object.values(outcomes)
    .flatMap((o) => o?.figures ?? [])
    .filter((f) => f.reference && f.ratio !== undefined && Number.isFinite(f.ratio) && f.ratio > 0 && /\/s$/.test(f.value.unit))
    .map((f) => ({ label: `${f.bench}: ${f.name.replace(/ \(.*\)$/, '')}`, values: [f.ratio as number], aim: aimRatio(f) }));
}

interface Percentiles {
  p50?: number;
  p90?: number;
  p99?: number;
}

/** The p99 bound of a benchmark's figure whose name matches (`< 10 ms at 64 connections`, `< 200 ms`). */
function aimMs(outcome: BenchOutcome | undefined, name: RegExp): number | undefined {
  const f = outcome?.figures.find((x) => name.test(x.name) && x.aim);
  const m = /<\s*([\d.]+)\s*ms/.exec(f?.aim?.text ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Latency percentiles the benchmarks keep in their data: reads per target, freshness, direct CDC lag; the p99 aims marked. */
export function latencyGroups(outcomes: Outcomes): BarGroup[] {
  const groups: BarGroup[] = [];
  const add = (label: string, p: Percentiles | undefined, aim?: number) => {
    if (!p || p.p50 === undefined) return;
    const v = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : null);
    groups.push({ label, values: [v(p.p50), v(p.p90), v(p.p99)], ...(aim !== undefined ? { aim } : {}) });
  };
  const reads = outcomes.reads?.data as Record<string, Percentiles> | undefined;
  add('reads: customer(id), GraphQL', reads?.one, aimMs(outcomes.reads, /p99 latency/));
  add('reads: bare Fastify + Redis GET', reads?.bareOne);
  add('reads: naive resolver', reads?.naiveOne);
  add('reads: customers(ids), 100 ids', reads?.many);
  add('reads: bare MGET of 100', reads?.bareMany);
  add('freshness: publish → visible', outcomes.freshness?.data as Percentiles | undefined, aimMs(outcomes.freshness, /p99/));
  add('direct: legacy UPDATE → visible', (outcomes.direct?.data as { lag?: Percentiles } | undefined)?.lag, aimMs(outcomes.direct, /p99/));
  return groups;
}

/** Draws the run's charts into `dir`; returns what was written, for the report to show. */
export function writeRunCharts(dir: string, outcomes: Outcomes): Array<{ file: string; alt: string }> {
  const written: Array<{ file: string; alt: string }> = [];
  const ratios = ratioGroups(outcomes);
  if (ratios.length) {
    const file = 'bench-ratios.svg';
    writeFileSync(
      join(dir, file),
      barChart({ title: 'Throughput ÷ reference (same run, same machine), log scale', xLabel: 'figure ÷ reference', series: ['ratio'], groups: ratios, scale: 'log', aimLabel: 'aim' }),
    );
    written.push({ file, alt: 'Throughput figures as ratios of their references, with the aims marked' });
  }
  const latency = latencyGroups(outcomes);
  if (latency.length) {
    const file = 'bench-latency.svg';
    writeFileSync(join(dir, file), barChart({ title: 'Latency percentiles, log scale', xLabel: 'ms', series: ['p50', 'p90', 'p99'], groups: latency, scale: 'log', aimLabel: 'aim (p99 below)' }));
    written.push({ file, alt: 'Latency p50, p90 and p99 of reads, freshness and direct CDC lag' });
  }
  return written;
}

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BenchName, BenchOutcome, Figure, Measure } from '../bench.model';
import { describeMachine, Machine } from './machine.info';

export interface RunReport {
  date: Date;
  command: string;
  machine: Machine;
  totalS: number;
  outcomes: Partial<Record<BenchName, BenchOutcome>>;
  /** Benchmarks that did not produce figures, and why. */
  missing: Array<{ bench: string; why: string }>;
  /** Charts drawn for this run, file names beside the report (docs/). */
  charts?: Array<{ file: string; alt: string }>;
}

const INTRO = `# Benchmarks

Each figure is measured by \`npm run bench\` (\`apps/bench\`) side by side with a reference measured in
the same run, on the same data and the same servers, so that the ratio means something on a noisy
machine. \`npm run bench -- <name>\` runs one of \`ingest\`, \`reads\`, \`freshness\`, \`backfill\`, \`rules\`, \`direct\`;
\`npm run bench -- <name> --profile\` runs it with V8's CPU profiler (what \`--cpu-prof\` uses) on every
process under test, times each of their PostgreSQL and Redis round trips, and writes the top
self-time functions below instead of figures. The run is not part of \`npm test\`; it uses its
own database (\`statusview_bench\`), legacy databases (\`statusview_bench_crm\`, \`statusview_bench_portal\`,
MariaDB \`statusview_bench_billing\`; \`statusview_bench_direct_crm\` with the replication slots \`bench_direct_crm\` and
\`bench_direct_recvlogical\`, dropped at the end), Redis prefix (\`bench:\`) and exchange (\`bench.cdc\`), and seeds
the reference domain deterministically (config/sources.yaml, config/rules.yaml).

Ratios are figure ÷ reference. Aims (issue 16, raising issue 6's): ingest ≥ half the bare consumer and ≥ 25,000
events/s; \`customer(id)\` ≥ 0.7× the bare Fastify+Redis route with p99 ≤ 1.2× its p99, \`customers(ids)\` ≥ 0.7× the
bare MGET route, ≥ 20× the naive resolver behind a 1 ms link; freshness at half the maximum ingest p50 < 25 ms and
p99 < 100 ms; backfill ≥ half a COPY → COPY of the same rows, a second backfill ≥ 0.8× reconcile; flat peak memory;
preview and reprojection ≥ 100,000 customers/s. Issue 18: ≤ 300 B of Redis a cached customer. Issue 14: direct CDC
≥ half of \`pg_recvlogical\` reading the same WAL, and lag p99 < 100 ms at half the direct rate. Issues 16 and 18 (the
soak, \`npm run bench -- soak --minutes 30\`, run only when named): every process's RSS flat after warm-up, freshness
p99 steady, every table within 2× its live size, history bounded.
`;

const LATEST = ['<!-- bench:latest -->', '<!-- /bench:latest -->'];
const SOAK = ['<!-- bench:soak -->', '<!-- /bench:soak -->'];
const ANALYSIS = ['<!-- bench:analysis -->', '<!-- /bench:analysis -->'];
const PROFILES = ['<!-- bench:profiles -->', '<!-- /bench:profiles -->'];
const HISTORY = ['<!-- bench:history -->', '<!-- /bench:history -->'];

const NONE = '_None yet._';
const NO_RUN = '_No run yet._';

/** The text between two markers, or null when absent or only a placeholder. */
function block(text: string, [start, end]: string[]): string | null {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b <= a) return null;
  const inner = text.slice(a + start.length, b).trim();
  return inner === '' || inner === NONE || inner === NO_RUN ? null : inner;
}

export function fmt(m: Measure): string {
  const v = m.value;
  if (!Number.isFinite(v)) return `— ${m.unit}`;
  const digits = m.unit === 'ms' ? (v < 10 ? 2 : 1) : ['MB', 'rows', 'publishes'].includes(m.unit) ? 0 : v < 100 ? 1 : 0;
  return `${v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${m.unit}`;
}

export function row(f: Figure): string {
  const cells = [
    f.bench,
    f.name,
    `**${fmt(f.value)}**`,
    f.reference ? f.reference.name : '',
    f.reference ? fmt(f.reference) : '',
    f.ratio !== undefined && Number.isFinite(f.ratio) ? `${f.ratio.toFixed(2)}×` : '',
    f.aim ? f.aim.text : '',
    f.aim ? (f.aim.met ? '✓' : '✗') : '',
  ];
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

export function renderRun(r: RunReport, heading: string): string {
  const figures = Object.values(r.outcomes).flatMap((o) => o?.figures ?? []);
  const notes = Object.values(r.outcomes).flatMap((o) => o?.notes ?? []);
  const lines = [
    `## ${heading}: ${r.date.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `\`${r.command}\`, ${(r.totalS / 60).toFixed(1)} min in all. Machine: ${describeMachine(r.machine)}.`,
    '',
    '| benchmark | figure | value | reference | reference value | ratio | aim | met |',
    '|---|---|--:|---|--:|--:|---|:-:|',
    ...figures.map(row),
    ...r.missing.map((m) => `| ${m.bench} | **${m.why.startsWith('failed') ? 'failed' : 'not yet measured'}** | — | ${m.why.replace(/\|/g, '\\|')} | | | | |`),
    '',
    ...notes.map((n) => `- ${n}`),
    ...(r.charts?.length ? ['', ...r.charts.map((c) => `![${c.alt}](${c.file})`)] : []),
  ];
  return lines.join('\n');
}

/** The charts are this run's files, overwritten by the next run: an older run keeps its table and notes only. */
const withoutCharts = (md: string) => md.replace(/\n*^!\[[^\]]*\]\([^)]*\.svg\)$/gm, '');

/**
 * Writes docs/benchmarks.md: the intro, this run, the analysis and profiles (kept as they are),
 * then every earlier run, newest first (the previous "latest" moves to the top of the history).
 */
export function writeRunReport(file: string, r: RunReport): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const previous = block(old, LATEST);
  const history = [previous && withoutCharts(previous).replace(/^## Latest run:/, '### Run:').replace(/\n## /g, '\n### '), block(old, HISTORY)].filter((x): x is string => !!x);
  const latest = renderRun(r, 'Latest run');
  writeFileSync(file, assemble(latest, block(old, SOAK), block(old, ANALYSIS), block(old, PROFILES) ?? '', history.join('\n\n')));
}

/** Replaces the soak section (its latest run), keeping everything else as it is. */
export function writeSoakSection(file: string, markdown: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, assemble(block(old, LATEST) ?? NO_RUN, markdown.trim(), block(old, ANALYSIS), block(old, PROFILES) ?? '', block(old, HISTORY) ?? ''));
}

/** Replaces the profile summary of one benchmark, keeping everything else. */
export function writeProfileReport(file: string, bench: string, markdown: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const profiles = block(old, PROFILES) ?? '';
  const [start, end] = [`<!-- bench:profile:${bench} -->`, `<!-- /bench:profile:${bench} -->`];
  const mine = `${start}\n${markdown.trim()}\n${end}`;
  const kept = block(profiles, [start, end]) !== null ? profiles.replace(new RegExp(`${escape(start)}[\\s\\S]*?${escape(end)}`), mine) : `${profiles}\n\n${mine}`.trim();
  writeFileSync(file, assemble(block(old, LATEST) ?? NO_RUN, block(old, SOAK), block(old, ANALYSIS), kept, block(old, HISTORY) ?? ''));
}

function assemble(latest: string, soak: string | null, analysis: string | null, profiles: string, history: string): string {
  return [
    INTRO,
    LATEST[0],
    latest,
    LATEST[1],
    '',
    '## Soak (issues 16 and 18): written by `npm run bench -- soak --minutes 30`, not part of the default run',
    '',
    SOAK[0],
    soak ?? NO_RUN,
    SOAK[1],
    '',
    '## Where the time goes',
    '',
    ANALYSIS[0],
    analysis ?? '_Written after profiling the figures that fall short (`npm run bench -- <name> --profile`)._',
    ANALYSIS[1],
    '',
    '### CPU profiles (top self time, written by `--profile` runs)',
    '',
    PROFILES[0],
    profiles || NONE,
    PROFILES[1],
    '',
    '## Earlier runs (newest first)',
    '',
    HISTORY[0],
    history || NONE,
    HISTORY[1],
    '',
  ].join('\n');
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

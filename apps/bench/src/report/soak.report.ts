import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchOutcome } from '../bench.model';
import { RSS_GROUPS, SoakData, warmupMinute } from '../benchmarks/soak.aims';
import { SOAK_TABLES } from '../infra/footprint';
import { row, writeSoakSection } from './benchmarks.report';
import { describeMachine, Machine } from './machine.info';
import { lineChart, LineSeries } from './svg-chart';

export interface SoakReport {
  date: Date;
  command: string;
  machine: Machine;
  outcome: BenchOutcome;
  /** False for trial runs (--scale, BENCH_SERVICE_ENV): the charts and samples are drawn, docs/benchmarks.md is left alone. */
  writeMarkdown: boolean;
}

const RAW = 'soak.json';

/** The soak's charts, one per concern, minute by minute; rule set publishes marked. */
export function soakCharts(d: SoakData): Record<string, string> {
  const x = (m: { minute: number }) => m.minute;
  const markers = d.publishes.length
    ? d.publishes.map((p) => ({ x: p.minute, label: `${p.kind} v${p.version}` }))
    : d.minutes.filter((m) => m.publish).map((m) => ({ x: m.minute - 1, label: 'publish' }));
  const rss: LineSeries[] = Object.values(RSS_GROUPS)
    .filter((g) => d.minutes.some((m) => m.rss[g]?.processes))
    .map((g) => ({ name: g, points: d.minutes.map((m) => [x(m), m.rss[g]?.processes ? m.rss[g].meanMb : null]) }));
  rss.push({ name: 'Redis used_memory', dashed: true, points: d.minutes.map((m) => [x(m), m.redis.usedMb]) });
  const w = warmupMinute(d);
  return {
    'soak-rss.svg': lineChart({
      title: `RSS per process (mean of 5 s samples per minute; growth is judged from minute ${w})`,
      xLabel: 'minute',
      xFromZero: true,
      xMinStep: 1,
      yLabel: 'MB',
      series: rss,
      markers,
    }),
    'soak-latency.svg': lineChart({
      title: 'Freshness (publish → visible) and customer(id) read latency per minute',
      xLabel: 'minute',
      xFromZero: true,
      xMinStep: 1,
      yLabel: 'ms',
      series: [
        { name: 'freshness p50', points: d.minutes.map((m) => [x(m), num(m.freshness.p50)]) },
        { name: 'freshness p99', points: d.minutes.map((m) => [x(m), num(m.freshness.p99)]) },
        { name: 'reads p50', dashed: true, points: d.minutes.map((m) => [x(m), num(m.reads.p50)]) },
        { name: 'reads p99', dashed: true, points: d.minutes.map((m) => [x(m), num(m.reads.p99)]) },
      ],
      markers,
    }),
    'soak-backlog.svg': lineChart({
      title: 'Backlogs at the end of each minute',
      xLabel: 'minute',
      xFromZero: true,
      xMinStep: 1,
      yLabel: 'rows / messages',
      series: [
        { name: 'status_outbox rows (not yet relayed)', points: d.minutes.map((m) => [x(m), m.outboxBacklog]) },
        { name: 'RabbitMQ queue depth (events not yet consumed)', points: d.minutes.map((m) => [x(m), m.ingest.queued]) },
      ],
      markers,
    }),
    'soak-tables.svg': lineChart({
      title: 'Table + index size per table (pg_total_relation_size)',
      xLabel: 'minute',
      xFromZero: true,
      xMinStep: 1,
      yLabel: 'MB',
      series: SOAK_TABLES.map((t) => ({ name: t, points: d.minutes.map((m) => [x(m), num((m.tables.find((s) => s.table === t)?.totalBytes ?? NaN) / 1048576)]) })),
      markers,
    }),
  };
}

const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : Math.round(v).toLocaleString('en'));

export function renderSoak(r: SoakReport, charts: string[]): string {
  const d = r.outcome.data as unknown as SoakData;
  const mb = (bytes: number | undefined) => (bytes === undefined ? '—' : (bytes / 1048576).toFixed(0));
  const lines = [
    `### Latest soak: ${r.date.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${d.size.minutes} min`,
    '',
    `\`${r.command}\`. Machine: ${describeMachine(r.machine)}. Raw per-minute samples: [${RAW}](${RAW}).`,
    '',
    '| benchmark | figure | value | reference | reference value | ratio | aim | met |',
    '|---|---|--:|---|--:|--:|---|:-:|',
    ...r.outcome.figures.map(row),
    '',
    ...r.outcome.notes.map((n) => `- ${n}`),
    '',
    ...charts.map((c) => `![${c.replace(/\.svg$/, '')}](${c})`),
    '',
    '<details><summary>Per minute</summary>',
    '',
    `| minute | service RSS MB | PostgreSQL backends RSS MB | Redis used MB | freshness p50 / p99 ms | reads/s, p99 ms | events sent/s | queued | outbox | history rows | ${SOAK_TABLES.map((t) => `${t} MB`).join(' | ')} |`,
    `|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|${SOAK_TABLES.map(() => '--:').join('|')}|`,
    ...d.minutes.map((m) =>
      [
        `${m.minute}${m.publish ? ' *' : ''}`,
        f0(m.rss[RSS_GROUPS.service]?.meanMb),
        f0(m.rss[RSS_GROUPS.postgres]?.meanMb),
        f0(m.redis.usedMb),
        `${f0(m.freshness.p50)} / ${f0(m.freshness.p99)}`,
        m.minute === 0 ? '—' : `${f0(m.reads.perSec)}, ${Number.isFinite(m.reads.p99) ? m.reads.p99.toFixed(1) : '—'}`,
        f0(m.ingest.perSec),
        f0(m.ingest.queued),
        f0(m.outboxBacklog),
        f0(m.historyRows),
        ...SOAK_TABLES.map((t) => mb(m.tables.find((s) => s.table === t)?.totalBytes)),
      ].join(' | '),
    ).map((l) => `| ${l} |`),
    '',
    'Minute 0: the seeded service with its cache warm, before any load. `*`: a rule set publish started in this minute.',
    '',
    '</details>',
  ];
  return lines.join('\n');
}

/** Writes the soak's raw samples and charts into `dir`, and its section of docs/benchmarks.md when asked; returns the files. */
export function writeSoakReport(file: string, dir: string, r: SoakReport): string[] {
  const d = r.outcome.data as unknown as SoakData;
  const written: string[] = [];
  writeFileSync(join(dir, RAW), `${JSON.stringify({ command: r.command, date: r.date.toISOString(), machine: r.machine, figures: r.outcome.figures, notes: r.outcome.notes, ...d }, null, 1)}\n`);
  written.push(RAW);
  const charts = soakCharts(d);
  for (const [name, svg] of Object.entries(charts)) {
    writeFileSync(join(dir, name), svg);
    written.push(name);
  }
  if (r.writeMarkdown) {
    writeSoakSection(file, renderSoak(r, Object.keys(charts)));
    written.push(file);
  }
  return written;
}

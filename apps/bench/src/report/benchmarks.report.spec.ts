import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchOutcome } from '../bench.model';
import { RunReport, writeRunReport, writeSoakSection } from './benchmarks.report';
import { Machine } from './machine.info';

const machine: Machine = { cpus: 2, cpuModel: 'cpu', memoryGiB: 1, os: 'Linux', node: 'v20', postgres: '15', redis: '7', rabbitmq: '3', mariadb: '10' };
const reads: BenchOutcome = { figures: [{ bench: 'reads', name: 'customer(id)', value: { value: 1000, unit: 'req/s' } }], notes: ['a note'], data: {} };
const run = (date: string): RunReport => ({
  date: new Date(date),
  command: 'npm run bench',
  machine,
  totalS: 60,
  outcomes: { reads },
  missing: [],
  charts: [{ file: 'bench-ratios.svg', alt: 'ratios' }],
});

describe('benchmarks report', () => {
  it('keeps the soak section through normal runs, and a soak run keeps the latest run; older runs lose the charts that are no longer theirs', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bench-report-')), 'benchmarks.md');
    writeRunReport(file, run('2026-12-01T10:00:00Z'));
    writeSoakSection(file, '### Latest soak: 30 min\n\n![soak-rss](soak-rss.svg)');
    let md = readFileSync(file, 'utf8');
    expect(md).toContain('## Latest run: 2026-12-01 10:00 UTC');
    expect(md).toContain('![ratios](bench-ratios.svg)');

    writeRunReport(file, run('2026-12-02T10:00:00Z'));
    md = readFileSync(file, 'utf8');
    expect(md).toContain('### Latest soak: 30 min');
    expect(md).toContain('![soak-rss](soak-rss.svg)');
    const history = md.slice(md.indexOf('<!-- bench:history -->'));
    expect(history).toContain('### Run: 2026-12-01 10:00 UTC');
    expect(history).not.toContain('.svg)');
    // The latest run's own charts, once.
    expect(md.match(/!\[ratios\]\(bench-ratios\.svg\)/g)).toHaveLength(1);

    writeSoakSection(file, '### Latest soak: 2 min');
    md = readFileSync(file, 'utf8');
    expect(md).toContain('## Latest run: 2026-12-02 10:00 UTC');
    expect(md).toContain('### Latest soak: 2 min');
    expect(md).not.toContain('30 min');
  });
});

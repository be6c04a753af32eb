import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '@app/config';
import { BenchContext, BenchOutcome, ratio } from '../bench.model';

export interface BackfillSize {
  /** Rows of the crm table; the first size is the small one the peak RSS of the last is compared with. */
  rows: number[];
}

/** The backfill engineer's own benchmark (libs/backfill/bench/backfill.bench.ts, `npm run bench:backfill`), built. */
const SCRIPT = 'dist/libs/backfill/bench/backfill.bench.js';

/** Peak RSS of the largest size within this factor of the smallest's counts as flat. */
const FLAT = 1.25;

/** Raised when the backfill's own benchmark is not there (not written, or not built yet). */
export class NotYetMeasured extends Error {}

interface SizeRow {
  rows: number;
  copy: number;
  pipe: number;
  backfill: number;
  backfillRssMb: number;
  reconcile: number;
  reconcileRssMb: number;
  again: number;
}

/**
 * 4. Backfill and reconcile: delegated to the benchmark that ships with libs/backfill, which runs
 * the real CLI (`backfill --system crm`, `reconcile --system crm`, as `npm run cli` runs them, heap
 * capped at 128 MB) against a generated crm table in databases of its own, samples the CLI's peak
 * RSS (VmHWM), and times the raw `COPY (SELECT …) TO STDOUT` of the same rows. Its table is read
 * back here.
 */
export async function backfillBench(ctx: BenchContext, size: BackfillSize): Promise<BenchOutcome> {
  const script = join(projectRoot(), SCRIPT);
  if (!existsSync(script)) throw new NotYetMeasured(`${SCRIPT} is not there (libs/backfill/bench/backfill.bench.ts not written or not built)`);
  if (ctx.profileDir) ctx.log('backfill: not profiled here; `npm run bench:backfill -- --cpu-prof` profiles the CLI (see docs/backfill.md)');
  ctx.log(`backfill: npm run bench:backfill -- --rows ${size.rows.join(',')}`);
  const output = await run(script, ['--rows', size.rows.join(',')], (line) => ctx.log(`  | ${line}`));
  const table = parseTable(output);
  const small = table.find((r) => r.rows === Math.min(...size.rows));
  const large = table.find((r) => r.rows === Math.max(...size.rows));
  if (!small || !large) throw new Error(`bench:backfill printed no table for ${size.rows.join(' and ')} rows:\n${output.slice(-1500)}`);

  const n = large.rows.toLocaleString('en');
  const copy = { name: 'raw COPY (SELECT …) TO STDOUT of the same rows', value: large.copy, unit: 'rows/s' };
  const pipe = { name: 'COPY → COPY of the same rows into the same four tables', value: large.pipe, unit: 'rows/s' };
  const reconciled = { name: 'reconcile of the same rows', value: large.reconcile, unit: 'rows/s' };
  const mb = (v: number) => ({ value: v, unit: 'MB' });
  const flat = (a: number, b: number) => a <= FLAT * b;
  const smallText = `${small.rows.toLocaleString('en')} rows`;
  return {
    figures: [
      {
        bench: 'backfill',
        name: `backfill crm, ${n} rows into an empty view`,
        value: { value: large.backfill, unit: 'rows/s' },
        reference: pipe,
        ratio: ratio(large.backfill, large.pipe),
        aim: { text: '≥ 0.5× COPY → COPY', met: large.backfill >= 0.5 * large.pipe },
      },
      {
        bench: 'backfill',
        name: `backfill peak RSS at ${n} rows`,
        value: mb(large.backfillRssMb),
        reference: { name: `peak RSS at ${smallText}`, ...mb(small.backfillRssMb) },
        ratio: ratio(large.backfillRssMb, small.backfillRssMb),
        aim: { text: `flat (≤ ${FLAT}× the smaller run's)`, met: flat(large.backfillRssMb, small.backfillRssMb) },
      },
      {
        bench: 'backfill',
        name: `reconcile crm, ${n} rows (all agree)`,
        value: { value: large.reconcile, unit: 'rows/s' },
        reference: copy,
        ratio: ratio(large.reconcile, large.copy),
        aim: { text: '≥ 0.5× raw COPY', met: large.reconcile >= 0.5 * large.copy },
      },
      {
        bench: 'backfill',
        name: `reconcile peak RSS at ${n} rows`,
        value: mb(large.reconcileRssMb),
        reference: { name: `peak RSS at ${smallText}`, ...mb(small.reconcileRssMb) },
        ratio: ratio(large.reconcileRssMb, small.reconcileRssMb),
        aim: { text: `flat (≤ ${FLAT}× the smaller run's)`, met: flat(large.reconcileRssMb, small.reconcileRssMb) },
      },
      {
        bench: 'backfill',
        name: `second backfill of the same ${n} rows (nothing changes)`,
        value: { value: large.again, unit: 'rows/s' },
        reference: reconciled,
        ratio: ratio(large.again, large.reconcile),
        aim: { text: '≥ 0.8× reconcile', met: large.again >= 0.8 * large.reconcile },
      },
    ],
    notes: [
      `Backfill and reconcile: measured by libs/backfill's own benchmark (\`npm run bench:backfill -- --rows ${size.rows.join(',')}\`), called from here: ` +
        `the real CLI as a child process (heap capped at 128 MB like \`npm run cli\`), default batch size, a generated crm table (PostgreSQL) ` +
        `into an empty view of its own, so every row becomes a new customer (record, customer, history and outbox rows; the CLI leaves the outbox to the service's relay, so publishing is not timed here); peak RSS is the CLI's VmHWM; ` +
        `the COPY reference reads the same rows with the backfill's own conversions through psql; the COPY → COPY reference pipes the same rows, shaped as the backfill stores them ` +
        `(record, customer, one history entry and one outbox message each), from the legacy database into the same four tables of a second migrated view database (pg-copy-streams, ` +
        `one table after the other): the physical limit of the write, with no mapping, resolution, locks or cache. Rates include the CLI's start.`,
    ],
    data: { table },
  };
}

function run(script: string, args: string[], onLine: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim() && !l.startsWith('|')) onLine(l.trim());
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`bench:backfill exited ${code}: ${stderr.slice(-1500)}`))));
  });
}

/** The markdown table bench:backfill prints last, by its header names. */
export function parseTable(output: string): SizeRow[] {
  const lines = output.split('\n').filter((l) => l.startsWith('|'));
  const header = lines.find((l) => /\|\s*rows\s*\|/.test(l));
  if (!header) return [];
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => c.trim());
  const names = cells(header);
  const col = (name: RegExp) => names.findIndex((h) => name.test(h));
  const idx = {
    rows: col(/^rows$/),
    copy: col(/^COPY rows\/s$/),
    pipe: col(/^COPY → COPY rows\/s$/),
    backfill: col(/^backfill rows\/s$/),
    backfillRss: col(/^backfill peak RSS$/),
    reconcile: col(/^reconcile rows\/s$/),
    reconcileRss: col(/^reconcile peak RSS$/),
    again: col(/^2nd backfill rows\/s$/),
  };
  if (Object.values(idx).some((i) => i < 0)) throw new Error(`bench:backfill's table has other columns now: ${header}`);
  const num = (s: string) => Number(s.replace(/[^\d.]/g, ''));
  return lines
    .filter((l) => /^\|\s*\d/.test(l))
    .map((l) => {
      const c = cells(l);
      return {
        rows: num(c[idx.rows]),
        copy: num(c[idx.copy]),
        pipe: num(c[idx.pipe]),
        backfill: num(c[idx.backfill]),
        backfillRssMb: num(c[idx.backfillRss]),
        reconcile: num(c[idx.reconcile]),
        reconcileRssMb: num(c[idx.reconcileRss]),
        again: num(c[idx.again]),
      };
    });
}

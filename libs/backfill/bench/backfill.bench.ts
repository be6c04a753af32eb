/**
 * Benchmark of backfill and reconcile (not a test): `npm run bench:backfill [-- --rows 100000,1000000] [--cpu-prof]`.
 *
 * For each size it makes a legacy crm database on the local PostgreSQL (reference domain rows from
 * generate_series, deterministic), a statusview database and a Redis prefix of its own, then runs
 * the real CLI as a child process: `backfill --system crm`, then `reconcile --system crm`, timing
 * each and sampling the child's peak RSS (VmHWM). As references it times `COPY (SELECT …) TO
 * STDOUT` of the same rows through psql (the read side alone), and a COPY → COPY pipe of the same
 * rows, shaped as the backfill stores them, into the same four tables of a second, migrated view
 * database (the physical limit of the write: no mapping, no resolution, no locks, no cache).
 * Everything is dropped after.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Redis from 'ioredis';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { projectRoot } from '@app/config';
import { CUSTOMER_COUNT_SQL } from '@app/projection';

// The repository root, from the sources as from dist/.
const ROOT = projectRoot();
const CLI = join(ROOT, 'dist/apps/cli/src/main.js');
// As `npm run cli` runs it: the live set of a page is under 100 MB; uncapped, V8 lets garbage grow the heap to ~400 MB first.
const NODE_FLAGS = ['--max-old-space-size=128'];
const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

interface Measure {
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number | null;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function dbUrl(name: string): string {
  const u = new URL(PG);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: Client) => Promise<T>, url = PG): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Runs a child to completion, sampling its peak resident set (VmHWM only grows, so the last sample is the peak). */
function measured(cmd: string, args: string[], env: Record<string, string>, rows: number, sink = false): Promise<Measure & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let bytes = 0;
    let peakKb: number | null = null;
    child.stdout.on('data', (d: Buffer) => (sink ? (bytes += d.length) : (stdout += d.toString())));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Number(m[1]);
      } catch {
        // The child has exited between two samples.
      }
    };
    const timer = setInterval(sample, 50);
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({ seconds, rowsPerSecond: Math.round(rows / seconds), peakRssMb: peakKb === null ? null : Math.round(peakKb / 1024), stdout: sink ? String(bytes) : stdout });
    });
  });
}

/**
 * What the backfill writes for each legacy row, as SQL over the legacy table: its record, its
 * customer, one history entry and one outbox message. The status is a plain CASE of the raw one
 * (the physical limit does not evaluate rules); the columns and their sizes are the backfill's.
 */
const COPY_PIPES: Array<{ select: string; into: string }> = [
  {
    select: `SELECT 'crm', id::text, customer_no,
               json_build_object('id', id, 'customer_no', customer_no, 'email', email, 'status', status,
                                 'updated_at', (extract(epoch FROM updated_at) * 1000000)::int8)::text,
               CASE status WHEN 'CLOSED' THEN 'CLOSED' WHEN 'DORMANT' THEN 'INACTIVE' ELSE 'PENDING' END, 'crm-status',
               'lsn', lpad(id::text, 20, '0'), id::text, updated_at, false, now()
             FROM crm.customers ORDER BY id`,
    into: 'source_record (system, record_key, customer_id, raw, status, rule, position_kind, position_key, position, source_ts, deleted, updated_at)',
  },
  {
    select: `SELECT customer_no, CASE status WHEN 'CLOSED' THEN 'CLOSED' WHEN 'DORMANT' THEN 'INACTIVE' ELSE 'PENDING' END, 'no-billing-yet',
               now(), now(), 1, true, 1 FROM crm.customers ORDER BY id`,
    into: 'customer (id, status, reason, status_since, updated_at, version, live, rule_set_version)',
  },
  ...['status_history', 'status_outbox'].map((table) => ({
    select: `SELECT customer_no, NULL, CASE status WHEN 'CLOSED' THEN 'CLOSED' WHEN 'DORMANT' THEN 'INACTIVE' ELSE 'PENDING' END, 'no-billing-yet', 1, now(), 1
             FROM crm.customers ORDER BY id`,
    into: `${table} (customer_id, from_status, to_status, reason, rule_set_version, at, customer_version)`,
  })),
];

/** The COPY → COPY pipes of COPY_PIPES, one after the other, timed together. */
async function copyPipe(legacyUrl: string, viewUrl: string, rows: number): Promise<Measure> {
  const source = new Client({ connectionString: legacyUrl });
  const target = new Client({ connectionString: viewUrl });
  await source.connect();
  await target.connect();
  try {
    const started = process.hrtime.bigint();
    for (const p of COPY_PIPES) {
      await pipeline(source.query(copyTo(`COPY (${p.select}) TO STDOUT`)), target.query(copyFrom(`COPY ${p.into} FROM STDIN`)));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [{ n }] = (await target.query<{ n: number }>(CUSTOMER_COUNT_SQL)).rows;
    if (n !== rows) throw new Error(`the COPY pipe wrote ${n} customers, expected ${rows}`);
    return { seconds, rowsPerSecond: Math.round(rows / seconds), peakRssMb: null };
  } finally {
    await source.end();
    await target.end();
  }
}

async function benchSize(rows: number, cpuProf: boolean, extra: string[]): Promise<Record<string, Measure>> {
  const id = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const legacy = `bench_legacy_crm_${id}`;
  const view = `bench_statusview_${id}`;
  const piped = `bench_statusview_copy_${id}`;
  const prefix = `bench_${id}:`;
  await admin(async (c) => {
    await c.query(`CREATE DATABASE "${legacy}"`);
    await c.query(`CREATE DATABASE "${view}"`);
    await c.query(`CREATE DATABASE "${piped}"`);
  });
  const env = { DATABASE_URL: dbUrl(view), REDIS_URL: REDIS, REDIS_PREFIX: prefix, LEGACY_CRM_URL: dbUrl(legacy) };
  try {
    const t0 = Date.now();
    await admin(async (c) => {
      await c.query(readFileSync(join(ROOT, 'config/legacy/crm.sql'), 'utf8'));
      // Reference domain rows: every status, one customer per row, a timestamp per row; same data every run.
      await c.query(
        `INSERT INTO crm.customers
         SELECT g, 'C-' || lpad(g::text, 7, '0'), 'customer' || g || '@example.com',
                (ARRAY['PROSPECT','ACTIVE','DORMANT','CLOSED','ACTIVE','ACTIVE'])[1 + g % 6],
                timestamp '2024-01-01 00:00:00' + g * interval '37 seconds'
         FROM generate_series(1, $1::int) g`,
        [rows],
      );
      await c.query(`VACUUM ANALYZE crm.customers`);
    }, dbUrl(legacy));
    out(`  ${rows} rows generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await measured(process.execPath, [CLI, 'migrate'], env, 0);

    // The read side alone: the same conversions as the backfill's SELECT, streamed out by COPY.
    const copySql = `COPY (SELECT id, customer_no, email, status, (extract(epoch FROM updated_at) * 1000000)::int8 FROM crm.customers ORDER BY id) TO STDOUT`;
    const copy = await measured('psql', [dbUrl(legacy), '-X', '-q', '-c', copySql], {}, rows, true);
    out(`  COPY TO STDOUT   ${copy.seconds.toFixed(2)} s  ${copy.rowsPerSecond} rows/s`);
    await measured(process.execPath, [CLI, 'migrate'], { ...env, DATABASE_URL: dbUrl(piped) }, 0);
    const pipe = await copyPipe(dbUrl(legacy), dbUrl(piped), rows);
    out(`  COPY → COPY      ${pipe.seconds.toFixed(2)} s  ${pipe.rowsPerSecond} rows/s (record, customer, history, outbox)`);

    const prof = (name: string) => (cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(ROOT, 'bench-profiles'), '--cpu-prof-name', `${name}-${rows}.cpuprofile`] : []);
    const backfill = await measured(process.execPath, [...NODE_FLAGS, ...prof('backfill'), CLI, 'backfill', '--system', 'crm', '--format', 'json', ...extra], env, rows);
    const summary = JSON.parse(backfill.stdout) as { rowsRead: number; recordsChanged: number };
    if (summary.rowsRead !== rows || summary.recordsChanged !== rows) throw new Error(`backfill read ${summary.rowsRead}, changed ${summary.recordsChanged}`);
    out(`  backfill         ${backfill.seconds.toFixed(2)} s  ${backfill.rowsPerSecond} rows/s  peak RSS ${backfill.peakRssMb} MB`);

    const reconcile = await measured(process.execPath, [...NODE_FLAGS, ...prof('reconcile'), CLI, 'reconcile', '--system', 'crm', '--format', 'json'], env, rows);
    const report = JSON.parse(reconcile.stdout) as { agreed: boolean; legacyRows: number };
    if (!report.agreed || report.legacyRows !== rows) throw new Error(`reconcile did not agree: ${reconcile.stdout.slice(0, 500)}`);
    out(`  reconcile        ${reconcile.seconds.toFixed(2)} s  ${reconcile.rowsPerSecond} rows/s  peak RSS ${reconcile.peakRssMb} MB`);

    const again = await measured(process.execPath, [...NODE_FLAGS, ...prof('again'), CLI, 'backfill', '--system', 'crm', '--format', 'json', ...extra], env, rows);
    out(`  backfill again   ${again.seconds.toFixed(2)} s  ${again.rowsPerSecond} rows/s  peak RSS ${again.peakRssMb} MB (nothing changed)`);
    return { copy, pipe, backfill, reconcile, again };
  } finally {
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS "${legacy}" WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS "${view}" WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS "${piped}" WITH (FORCE)`);
    });
    const redis = new Redis(REDIS);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const sizes = (arg('rows') ?? '100000,1000000').split(',').map(Number);
  const cpuProf = process.argv.includes('--cpu-prof');
  // Passed to the backfill command as they are, e.g. --concurrency 4 --batch-size 2000.
  const extra = ['concurrency', 'batch-size'].flatMap((o) => (arg(o) ? [`--${o}`, arg(o) as string] : []));
  out(`backfill benchmark: node ${process.version}, ${sizes.join(' and ')} rows, crm (PostgreSQL) → statusview (PostgreSQL + Redis)`);
  const results: Array<[number, Record<string, Measure>]> = [];
  for (const rows of sizes) {
    out(`${rows} rows:`);
    results.push([rows, await benchSize(rows, cpuProf, extra)]);
  }
  out('');
  out('| rows | COPY rows/s | COPY → COPY rows/s | backfill rows/s | backfill peak RSS | reconcile rows/s | reconcile peak RSS | 2nd backfill rows/s |');
  out('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [rows, r] of results) {
    out(`| ${rows} | ${r.copy.rowsPerSecond} | ${r.pipe.rowsPerSecond} | ${r.backfill.rowsPerSecond} | ${r.backfill.peakRssMb} MB | ${r.reconcile.rowsPerSecond} | ${r.reconcile.peakRssMb} MB | ${r.again.rowsPerSecond} |`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});

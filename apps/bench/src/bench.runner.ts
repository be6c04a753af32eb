import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fromRoot, loadDomainConfig } from '@app/config';
import { BENCH_NAMES, postgresUrl, serverUrls, serviceEnvOverrides } from './bench.env';
import { BENCHMARKS, BenchContext, BenchName, BenchOutcome, ON_REQUEST } from './bench.model';
import { backfillBench, NotYetMeasured } from './benchmarks/backfill.bench';
import { directBench } from './benchmarks/direct.bench';
import { freshnessBench } from './benchmarks/freshness.bench';
import { ingestBench } from './benchmarks/ingest.bench';
import { readsBench } from './benchmarks/reads.bench';
import { rulesBench } from './benchmarks/rules.bench';
import { soakBench } from './benchmarks/soak.bench';
import { LegacyDatabases } from './data/legacy.seeder';
import { ReferenceMappings } from './data/reference-data';
import { ViewDatabase } from './data/view.seeder';
import { CpuMonitor } from './infra/cpu.monitor';
import { clearRedisPrefix } from './infra/servers';
import { profilesIn, renderRoundTrips, renderSummary, summarize } from './profile/cpu-profile.summary';
import { writeProfileReport, writeRunReport } from './report/benchmarks.report';
import { writeRunCharts } from './report/run.charts';
import { writeSoakReport } from './report/soak.report';
import { machineInfo } from './report/machine.info';

const out = (line = '') => process.stdout.write(`${line}\n`);

interface Args {
  names: BenchName[];
  profile: boolean;
  /** < 1 shrinks every size, for trying the harness out; such runs do not write the report. */
  scale: number;
  /** The soak's length (`--minutes N`, soak only). */
  minutes: number;
}

const ALL: readonly string[] = [...BENCHMARKS, ...ON_REQUEST];

function parseArgs(argv: string[]): Args {
  const names: BenchName[] = [];
  let profile = false;
  let scale = 1;
  let minutes: number | undefined;
  let all = false;
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--profile') profile = true;
    else if (a.startsWith('--scale=')) scale = Number(a.slice('--scale='.length));
    else if (a === '--minutes' || a.startsWith('--minutes=')) minutes = Number(a === '--minutes' ? argv[++k] : a.slice('--minutes='.length));
    else if (ALL.includes(a)) names.push(a as BenchName);
    else if (a === 'all') all = true;
    else throw new Error(`unknown argument "${a}"; expected one of ${ALL.join(', ')}, all, --profile, --scale=<0..1>, --minutes <n> (soak)`);
  }
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be in (0, 1], got ${scale}`);
  if (minutes !== undefined && !names.includes('soak')) throw new Error('--minutes is the soak\'s length: `npm run bench -- soak --minutes 30`');
  if (minutes !== undefined && !(Number.isInteger(minutes) && minutes >= 1)) throw new Error(`--minutes must be a whole number ≥ 1, got ${minutes}`);
  if (profile && names.includes('soak')) throw new Error('the soak does not run with --profile');
  // `all` and no names alike mean the default parts; the soak only when named.
  const chosen = all || names.length === 0 ? [...BENCHMARKS] : BENCHMARKS.filter((b) => names.includes(b));
  return { names: [...chosen, ...ON_REQUEST.filter((b) => names.includes(b))], profile, scale, minutes: minutes ?? 30 };
}

/**
 * The sizes of the issue, and where they are scaled down to fit the 15 minutes on this 2-core
 * machine (said in the table's notes).
 */
function sizes(scale: number, minutes: number) {
  const n = (x: number) => Math.max(1000, Math.round(x * scale));
  return {
    ingest: { events: n(200_000), customers: n(100_000) },
    reads: { customers: n(100_000), connections: 64, durationS: scale < 1 ? 3 : 10, warmupS: scale < 1 ? 1 : 3, idsPerList: 100 },
    freshness: { customers: n(100_000), durationS: scale < 1 ? 8 : 30, probeCustomers: 20, calibrationEvents: n(50_000) },
    backfill: { rows: [n(100_000), n(1_000_000)] },
    rules: { customers: n(1_000_000), reprojectionCapS: 120 },
    direct: { customers: n(100_000), changes: n(200_000), transactionSize: n(10_000), lagDurationS: scale < 1 ? 8 : 30, probeCustomers: 20 },
    soak: {
      customers: n(100_000),
      minutes,
      probeCustomers: 20,
      calibrationEvents: n(30_000),
      readsPerSec: 300,
      readConnections: 8,
      publishEveryMin: 10,
      warmupMin: 5,
      historyKeep: 20,
    },
  };
}

export async function runBench(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const urls = serverUrls();
  const domain = loadDomainConfig('config');
  const view = await ViewDatabase.open(postgresUrl(urls, BENCH_NAMES.database));
  const profileRoot = args.profile ? mkdtempSync(join(tmpdir(), 'statusview-bench-profiles-')) : undefined;
  const ctx: BenchContext = {
    urls,
    domain,
    mappings: new ReferenceMappings(domain),
    view,
    profileDir: profileRoot,
    earlier: {},
    log: (m) => out(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`),
  };
  const size = sizes(args.scale, args.minutes);
  const machine = await machineInfo(urls);
  const missing: Array<{ bench: string; why: string }> = [];
  let failed = false;
  try {
    for (const name of args.names) {
      const cpu = new CpuMonitor();
      cpu.start();
      try {
        const outcome = await run(name, ctx, size);
        const shares = cpu.stop();
        if (shares) {
          outcome.notes.push(
            `CPU during ${name} (${shares.seconds.toFixed(0)} s, share of all ${machine.cpus} cores): this benchmark's processes and PostgreSQL backends ${shares.bench.toFixed(0)}%, ` +
              `shared servers (PostgreSQL's own, Redis, RabbitMQ, MariaDB) ${shares.servers.toFixed(0)}%, other work on the machine ${shares.other.toFixed(0)}%.`,
          );
          outcome.data.cpu = shares;
        }
        ctx.earlier[name] = outcome;
        for (const f of ctx.earlier[name]?.figures ?? []) {
          const ref = f.reference ? `  vs ${f.reference.value.toFixed(1)} ${f.reference.unit} (${f.ratio?.toFixed(2)}×)` : '';
          ctx.log(`  ${f.name}: ${f.value.value.toFixed(1)} ${f.value.unit}${ref}${f.aim ? `  aim ${f.aim.text}: ${f.aim.met ? 'met' : 'MISSED'}` : ''}`);
        }
      } catch (e) {
        cpu.stop();
        if (e instanceof NotYetMeasured) {
          missing.push({ bench: name, why: e.message });
          ctx.log(`${name}: not yet measured: ${e.message}`);
          continue;
        }
        failed = true;
        const why = (e as Error).message.split('\n')[0];
        missing.push({ bench: name, why: `failed: ${why}` });
        ctx.log(`${name} FAILED: ${(e as Error).stack ?? String(e)}`);
      }
    }
  } finally {
    ctx.log('cleaning up: legacy databases, view tables, Redis keys');
    await new LegacyDatabases(urls).dropAll().catch((e: Error) => ctx.log(`could not drop the legacy databases: ${e.message}`));
    await view.reset().catch(() => undefined);
    await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix).catch(() => undefined);
    await view.close();
  }
  const totalS = (Date.now() - started) / 1000;
  const file = fromRoot('docs/benchmarks.md');
  if (profileRoot) {
    for (const name of args.names) {
      const dir = join(profileRoot, name);
      const files = (() => {
        try {
          return profilesIn(dir);
        } catch {
          return [];
        }
      })();
      if (!files.length) continue;
      const md = [
        `#### ${name} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        '',
        ...files.map((f) => [renderSummary(summarize(f), `${name}: ${basename(dirname(f))}/${basename(f)}`), renderRoundTrips(f)].filter(Boolean).join('\n\n')),
      ].join('\n\n');
      out(md);
      if (args.scale === 1) writeProfileReport(file, name, md);
    }
    ctx.log(`profiles kept in ${profileRoot}`);
  } else {
    // The soak has a section (and charts) of its own; the other parts' "latest" block is left as it is by a soak run.
    const { soak, ...others } = ctx.earlier;
    const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    const parts = args.names.filter((n) => n !== 'soak');
    const official = args.scale === 1 && Object.keys(serviceEnvOverrides()).length === 0;
    // Runs that do not write the report still draw their charts, somewhere else, to look at.
    const chartDir = official ? dirname(file) : mkdtempSync(join(tmpdir(), 'statusview-bench-charts-'));
    if (parts.length) {
      const charts = writeRunCharts(chartDir, others);
      if (official) {
        writeRunReport(file, { date: new Date(started), command, machine, totalS, outcomes: others, missing: missing.filter((m) => m.bench !== 'soak'), charts });
        ctx.log(`wrote ${file} and ${charts.map((c) => c.file).join(', ')}`);
      } else ctx.log(`charts: ${charts.map((c) => join(chartDir, c.file)).join(', ')}`);
    }
    if (soak) {
      const written = writeSoakReport(file, chartDir, { date: new Date(started), command, machine, outcome: soak, writeMarkdown: official });
      ctx.log(`soak: wrote ${written.map((w) => (w.startsWith('/') ? w : join(chartDir, w))).join(', ')}`);
    }
    if (!official) {
      ctx.log(`--scale=${args.scale}, BENCH_SERVICE_ENV=${process.env.BENCH_SERVICE_ENV ?? ''}: report not written; its notes:`);
      for (const o of Object.values(ctx.earlier)) for (const n of o?.notes ?? []) out(`- ${n}`);
    }
  }
  ctx.log(`done in ${(totalS / 60).toFixed(1)} min`);
  if (failed) process.exitCode = 1;
}

function run(name: BenchName, ctx: BenchContext, size: ReturnType<typeof sizes>): Promise<BenchOutcome> {
  switch (name) {
    case 'ingest':
      return ingestBench(ctx, size.ingest);
    case 'reads':
      return readsBench(ctx, size.reads);
    case 'freshness':
      return freshnessBench(ctx, size.freshness);
    case 'backfill':
      return backfillBench(ctx, size.backfill);
    case 'rules':
      return rulesBench(ctx, size.rules);
    case 'direct':
      return directBench(ctx, size.direct);
    case 'soak':
      return soakBench(ctx, size.soak);
  }
}

import { performance } from 'node:perf_hooks';
import * as amqp from 'amqplib';
import { Client } from 'pg';
import { ACTIVE_VERSION_SQL, PROJECTION_COUNTS_SQL } from '@app/projection';
import { BENCH_NAMES, benchQueue } from '../bench.env';
import { BenchContext, BenchOutcome } from '../bench.model';
import { ChangeEventStream } from '../data/change-event.stream';
import { ABSENT, customerId, prng, ReferenceCustomers } from '../data/reference-data';
import { compactSizes, pidsByName, redisMemory, RssWatch, tableFootprints } from '../infra/footprint';
import { clearRedisPrefix, deleteQueues, freshQueues, queueDepth } from '../infra/servers';
import { httpLoad, percentile } from '../load/http.load';
import { ACTIVE, awaitProbes, graphqlStatus, probeIds, probeStatusChanges } from '../load/status.probes';
import { AppWorkerInfo } from '../workers/app.worker';
import { ReprojectionRun } from '../workers/rules.worker';
import { WorkerHandle } from '../workers/worker.host';
import { calibrate } from './freshness.bench';
import { changedRuleSet } from './rules.bench';
import { publishMinutes, RSS_GROUPS, SoakData, SoakMinute, SoakPublish, SoakSize, soakFigures, warmupMinute } from './soak.aims';

const QUEUE = benchQueue('bench.soak.app');
/** What the reads benchmark asks for: everything of a customer but its history. */
const READ_QUERY = 'query($id: ID!) { customer(id: $id) { id status reason sources { system recordKey status rule raw } } }';
/** Reprojection is stopped (superseded) after this long, so that a run cannot overrun its length by much. */
const REPROJECTION_CAP_MS = 300_000;

/**
 * Issues 16 and 18: the service (`npm start`: API and ingest in one process) for `minutes` under
 * steady load: change events at half of ingest's maximum, `customer(id)` reads at a fixed rate,
 * freshness probes, and a rule set publish (with reprojection) every 10 minutes, alternating two
 * versions. Once a minute: every process's RSS, Redis' memory, freshness and read latency, the
 * outbox backlog, and the tables' sizes and dead rows; at the end each table against a compact copy.
 */
export async function soakBench(ctx: BenchContext, size: SoakSize): Promise<BenchOutcome> {
  const { urls, domain } = ctx;
  const customers = new ReferenceCustomers(size.customers);
  const ingestData = ctx.earlier.ingest?.data as { app?: { rate?: number } } | undefined;
  let maxRate = ingestData?.app?.rate;
  let calibrated = false;
  if (!maxRate) {
    maxRate = await calibrate(ctx, customers, size.calibrationEvents, QUEUE);
    calibrated = true;
  }
  const rate = maxRate / 2;
  const serviceEnv = { AMQP_QUEUE: QUEUE, HISTORY_KEEP_CHANGES: String(size.historyKeep), HISTORY_RETENTION_INTERVAL_MS: '60000' };

  ctx.log(`soak: seeding ${size.customers.toLocaleString('en')} customers; ${size.minutes} min at ${Math.round(rate).toLocaleString('en')} events/s and ${size.readsPerSec} reads/s`);
  await ctx.view.reset();
  await ctx.view.seed(customers, ctx.mappings);
  await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix);
  await freshQueues(urls.amqp, BENCH_NAMES.exchange, [QUEUE]);
  const app = await WorkerHandle.start<AppWorkerInfo>('app', { parts: { api: true, ingest: true }, env: serviceEnv });
  // The analysts' side in a process of its own, as the console's API would be; same settings.
  const rules = await WorkerHandle.start('rules', { env: serviceEnv });
  const db = new Client({ connectionString: ctx.view.url });
  await db.connect();
  const conn = await amqp.connect(urls.amqp);
  let pgPids: number[] = [];
  const watch = new RssWatch(() => ({
    [RSS_GROUPS.service]: [app.pid],
    [RSS_GROUPS.bench]: [process.pid],
    [RSS_GROUPS.rules]: [rules.pid],
    [RSS_GROUPS.postgres]: pgPids,
    [RSS_GROUPS.redis]: pidsByName('redis-server'),
    [RSS_GROUPS.rabbit]: pidsByName('beam.smp'),
  }));
  const refreshPgPids = async () => {
    const r = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [BENCH_NAMES.database]);
    pgPids = r.rows.map((x) => x.pid);
  };
  try {
    await app.request('warm', { from: 1, to: size.customers });
    const stream = new ChangeEventStream(customers, domain, undefined, 13);
    const ch = await conn.createChannel();
    const send = (e: { topic: string; body: string }) => ch.publish(BENCH_NAMES.exchange, e.topic, Buffer.from(e.body), { persistent: true, contentType: 'application/json' });
    const status = graphqlStatus(app.info.url);
    const statusOf = (variant: number) => ctx.mappings.statusOf(variant, ABSENT, ABSENT);
    const probes = probeIds(size.probeCustomers);
    for (const i of probes) send(stream.crmUpdate(i, ACTIVE, 'c'));
    await awaitProbes(probes, status, statusOf(ACTIVE));
    const baseVersion = (await db.query<{ version: number }>(ACTIVE_VERSION_SQL)).rows[0].version;
    const changed = changedRuleSet(domain.rules.document);

    // What every minute samples but the latencies; minute 0 is the seeded, warmed service before any load.
    const footprint = async (): Promise<Omit<SoakMinute, 'minute' | 'freshness' | 'reads' | 'ingest'>> => {
      await refreshPgPids();
      const rss = watch.take();
      const counts = (
        await db.query<{ outbox: string; history: string; customers: string }>(
          PROJECTION_COUNTS_SQL,
        )
      ).rows[0];
      const redis = await redisMemory(urls.redis);
      return {
        at: new Date().toISOString(),
        rss,
        redis: { usedMb: redis.usedBytes / 1048576, rssMb: redis.rssBytes / 1048576 },
        outboxBacklog: Number(counts.outbox),
        customers: Number(counts.customers),
        historyRows: Number(counts.history),
        tables: await tableFootprints(db),
      };
    };
    await refreshPgPids();
    watch.start();
    await sleep(5000);
    const none = { p50: NaN, p99: NaN };
    const minutes: SoakMinute[] = [
      { minute: 0, ...(await footprint()), freshness: { probes: 0, timeouts: 0, ...none }, reads: { requests: 0, perSec: 0, errors: 0, non2xx: 0, ...none }, ingest: { sent: 0, perSec: 0, queued: 0 } },
    ];

    // Background change events, paced every 10 ms, as in the freshness benchmark.
    let sent = 0;
    let stopping = false;
    const started = performance.now();
    const background = (async () => {
      while (!stopping) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        while (sent < due && !stopping) {
          if (!send(stream.next())) await new Promise((r) => ch.once('drain', r));
          sent++;
        }
        await sleep(10);
      }
    })();
    await sleep(2000);

    let bucket: number[] = [];
    let bucketTimeouts = 0;
    const t0 = performance.now();
    const probing = probeStatusChanges({
      probes,
      durationS: size.minutes * 60,
      statusOf,
      status,
      change: (i, next) => void send(stream.crmUpdate(i, next)),
      onProbe: (ms) => (ms === null ? bucketTimeouts++ : bucket.push(ms)),
    });

    const rng = prng(99);
    const randomId = () => customerId(1 + Math.floor(rng() * size.customers));
    const publishAt = publishMinutes(size.minutes, size.publishEveryMin);
    const publishes: SoakPublish[] = [];
    let publishing: Promise<void> | null = null;
    let otherVersion = 0; // the changed rule set's version, once published
    let sentBefore = 0;
    for (let m = 1; m <= size.minutes; m++) {
      let publish: string | undefined;
      if (publishAt.includes(m - 1) && !publishing) {
        // Alternate: the changed rule set, then back to the reference version, then the changed one again …
        const kind: SoakPublish['kind'] = publishes.length === 0 ? 'publish' : 'rollback';
        const target = publishes.length % 2 === 0 ? otherVersion : baseVersion;
        publish = kind === 'publish' ? 'changed rule set published' : `rollback to version ${target}`;
        ctx.log(`soak: minute ${m - 1}: ${publish}`);
        const t = performance.now();
        const run = kind === 'publish' ? rules.request<ReprojectionRun>('publish', { document: changed, capMs: REPROJECTION_CAP_MS }) : rules.request<ReprojectionRun>('rollback', { version: target, capMs: REPROJECTION_CAP_MS });
        const at = m - 1;
        publishing = run.then((r) => {
          if (kind === 'publish') otherVersion = r.version;
          publishes.push({ minute: at, kind, version: r.version, state: r.state, processed: r.processed, changed: r.changed, seconds: (performance.now() - t) / 1000, capped: r.capped, error: r.error });
          ctx.log(
            `soak: reprojection to version ${r.version} ${r.state}: ${r.processed.toLocaleString('en')} customers, ${r.changed.toLocaleString('en')} changed, ${((performance.now() - t) / 1000).toFixed(0)} s` +
              (r.error ? ` (${r.error})` : ''),
          );
          publishing = null;
        });
      }
      const endAt = t0 + m * 60_000;
      const reads = await httpLoad({
        url: `${app.info.url}/graphql`,
        method: 'POST',
        connections: size.readConnections,
        overallRate: size.readsPerSec,
        durationS: Math.max(1, Math.round((endAt - performance.now()) / 1000)),
        next: () => ({ body: JSON.stringify({ query: READ_QUERY, variables: { id: randomId() } }) }),
      });
      if (endAt > performance.now()) await sleep(endAt - performance.now());
      const lat = Float64Array.from(bucket).sort();
      const freshness = { probes: lat.length, timeouts: bucketTimeouts, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
      bucket = [];
      bucketTimeouts = 0;
      const sentNow = sent;
      const sample: SoakMinute = {
        minute: m,
        ...(await footprint()),
        freshness,
        reads: { requests: reads.requests, perSec: reads.requestsPerSec, p50: reads.p50, p99: reads.p99, errors: reads.errors, non2xx: reads.non2xx },
        ingest: { sent: sentNow - sentBefore, perSec: (sentNow - sentBefore) / 60, queued: await queueDepth(urls.amqp, QUEUE) },
        ...(publish ? { publish } : {}),
      };
      const { rss } = sample;
      sentBefore = sentNow;
      minutes.push(sample);
      const svc = rss[RSS_GROUPS.service];
      ctx.log(
        `soak: minute ${m}: freshness p50 ${ms(freshness.p50)} p99 ${ms(freshness.p99)} (${freshness.probes} probes, ${freshness.timeouts} timed out); ` +
          `reads ${reads.requestsPerSec.toFixed(0)}/s p99 ${reads.p99.toFixed(1)} ms; ingest ${sample.ingest.perSec.toFixed(0)}/s, ${sample.ingest.queued} queued; ` +
          `service RSS ${svc?.meanMb.toFixed(0)} MB; outbox ${sample.outboxBacklog}; history ${sample.historyRows.toLocaleString('en')} rows`,
      );
    }
    stopping = true;
    await background;
    await probing;
    watch.stop();
    if (publishing) {
      ctx.log('soak: waiting for the reprojection in flight');
      await publishing;
    }
    await ch.close();
    // Let the service catch up with what was sent before measuring the tables' end state (bounded).
    const drainStart = performance.now();
    let queued = await queueDepth(urls.amqp, QUEUE);
    while (queued > 0 && performance.now() - drainStart < 60_000) {
      await sleep(500);
      queued = await queueDepth(urls.amqp, QUEUE);
    }
    // Then the relay: the outbox's end state is what it keeps once quiet (it compacts itself a
    // second or two after the last change is relayed; OUTBOX_COMPACT_BYTES).
    while (Number((await db.query<{ outbox: string }>(PROJECTION_COUNTS_SQL)).rows[0].outbox) > 0 && performance.now() - drainStart < 90_000) await sleep(500);
    await sleep(5000);
    const drainS = (performance.now() - drainStart) / 1000;
    ctx.log("soak: measuring the tables' live size (a compact copy of each)");
    const counts = (
      await db.query<{ outbox: string; history: string; customers: string }>(
        PROJECTION_COUNTS_SQL,
      )
    ).rows[0];
    const data: SoakData = {
      size,
      startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
      maxRate,
      calibrated,
      targetRate: rate,
      serviceEnv,
      minutes,
      publishes,
      final: {
        tables: await tableFootprints(db),
        compact: await compactSizes(db),
        customers: Number(counts.customers),
        historyRows: Number(counts.history),
        outboxBacklog: Number(counts.outbox),
        queued,
        drainS,
      },
    };
    return { figures: soakFigures(data), notes: soakNotes(data), data: data as unknown as Record<string, unknown> };
  } finally {
    watch.stop();
    await conn.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    await Promise.all([app.stop(), rules.stop()]);
    await deleteQueues(urls.amqp, [QUEUE]);
  }
}

function soakNotes(d: SoakData): string[] {
  const w = warmupMinute(d);
  const achieved = d.minutes.reduce((a, m) => a + m.ingest.sent, 0) / Math.max(1, d.size.minutes * 60);
  const pubs = d.publishes.map((p) => `minute ${p.minute}: ${p.kind} → version ${p.version}, ${p.changed.toLocaleString('en')} of ${p.processed.toLocaleString('en')} customers changed in ${p.seconds.toFixed(0)} s (${p.state}${p.capped ? ', capped' : ''}${p.error ? `: ${p.error}` : ''})`);
  return [
    `Soak: ${d.size.minutes} min over ${d.size.customers.toLocaleString('en')} seeded customers; the service as \`npm start\` runs it (API and ingest in one process) with ` +
      `${Object.entries(d.serviceEnv)
        .filter(([k]) => k !== 'AMQP_QUEUE')
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}. ` +
      `Change events at half of ingest's maximum (${Math.round(d.maxRate).toLocaleString('en')} events/s ${d.calibrated ? `measured just before with ${d.size.calibrationEvents.toLocaleString('en')} events` : 'from the ingest benchmark of this run'}), ` +
      `${Math.round(achieved).toLocaleString('en')} events/s sent on average (10% of them new customers until the stream's room of 2× the seeded ones is used); ` +
      `\`customer(id)\` (the reads benchmark's fields) at ${d.size.readsPerSec} req/s over ${d.size.readConnections} connections (autocannon's overallRate, in the bench process); ` +
      `freshness probes as in the freshness benchmark (${d.size.probeCustomers} probe customers, one probe at a time).`,
    `Rule set publishes (the changed rule set of the rules benchmark, then back to the reference version, alternating; a rules worker of its own; reprojection capped at ${REPROJECTION_CAP_MS / 60_000} min): ${pubs.join('; ') || 'none'}.`,
    `Sampling: VmRSS (and RssAnon) from /proc/<pid>/status every 5 s, averaged per minute; the servers' processes found by name (redis-server, beam.smp), PostgreSQL's as the backends of statusview_bench in pg_stat_activity, summed ` +
      `(a backend's VmRSS counts the shared buffers it has touched, so their sum grows while the buffers warm; RssAnon is what they hold of their own). ` +
      `Redis used_memory is the whole server's (other users' keys included). Growth is from minute ${w} (warm-up) to the last minute's mean. ` +
      `Freshness "steady": no minute from minute ${w} on with a p99 above 2× the median minute's, none above 200 ms, no timeouts.`,
    `Live size: at the end, after the queue and then the outbox drained and 5 s more (${d.final.queued} messages left, ${d.final.drainS.toFixed(0)} s in all), each table's rows are copied into a temporary table with the table's fillfactor and every index of the table is built on the copy ` +
      `from its own definition (pg_get_indexdef), then rolled back: what VACUUM FULL would leave. Compared with pg_total_relation_size (heap, TOAST, free space map and indexes) of the table. ` +
      `At the end: ${d.final.customers.toLocaleString('en')} customers, ${d.final.historyRows.toLocaleString('en')} history rows, ${d.final.outboxBacklog.toLocaleString('en')} outbox rows.`,
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : '—');

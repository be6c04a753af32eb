import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as amqp from 'amqplib';
import { BENCH_NAMES, benchQueue } from '../bench.env';
import { BenchContext, BenchOutcome } from '../bench.model';
import { ChangeEventStream } from '../data/change-event.stream';
import { ABSENT, ReferenceCustomers } from '../data/reference-data';
import { clearRedisPrefix, deleteQueues, freshQueues, publishAll, queueDepth } from '../infra/servers';
import { percentile } from '../load/http.load';
import { ACTIVE, awaitProbes, graphqlStatus, probeIds, probeStatusChanges } from '../load/status.probes';
import { AppWorkerInfo, ConsumedTimeline } from '../workers/app.worker';
import { WorkerHandle } from '../workers/worker.host';
import { steadyRate } from './ingest.bench';

export interface FreshnessSize {
  customers: number;
  durationS: number;
  /** Customers the probes change in turn (created for the run, untouched by the background load). */
  probeCustomers: number;
  /** Events for measuring ingest's maximum when the ingest benchmark did not run before. */
  calibrationEvents: number;
}

const QUEUE = benchQueue('bench.freshness.app');

/**
 * 3. With change events arriving at half of ingest's measured maximum, the time from publishing
 * one more change to its new status being visible through GraphQL (`npm start`: API and consumer
 * in one process).
 */
export async function freshnessBench(ctx: BenchContext, size: FreshnessSize): Promise<BenchOutcome> {
  const { urls, domain } = ctx;
  const profileDir = ctx.profileDir && join(ctx.profileDir, 'freshness');
  const customers = new ReferenceCustomers(size.customers);
  const ingestData = ctx.earlier.ingest?.data as { app?: { rate?: number } } | undefined;
  let maxRate = ingestData?.app?.rate;
  let calibrated = false;
  if (!maxRate) {
    maxRate = await calibrate(ctx, customers, size.calibrationEvents, QUEUE);
    calibrated = true;
  }
  const rate = maxRate / 2;

  ctx.log(`freshness: seeding ${size.customers.toLocaleString('en')} customers; background load ${Math.round(rate).toLocaleString('en')} events/s`);
  await ctx.view.reset();
  await ctx.view.seed(customers, ctx.mappings);
  await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix);
  await freshQueues(urls.amqp, BENCH_NAMES.exchange, [QUEUE]);
  const app = await WorkerHandle.start<AppWorkerInfo>('app', { parts: { api: true, ingest: true }, env: { AMQP_QUEUE: QUEUE } }, { profileDir });
  const conn = await amqp.connect(urls.amqp);
  try {
    await app.request('warm', { from: 1, to: size.customers });
    const stream = new ChangeEventStream(customers, domain, undefined, 11);
    const ch = await conn.createChannel();
    const send = (e: { topic: string; body: string }) => ch.publish(BENCH_NAMES.exchange, e.topic, Buffer.from(e.body), { persistent: true, contentType: 'application/json' });
    const status = graphqlStatus(app.info.url);
    const statusOf = (variant: number) => ctx.mappings.statusOf(variant, ABSENT, ABSENT);

    // The probe customers exist before the clock starts.
    const probes = probeIds(size.probeCustomers);
    for (const i of probes) send(stream.crmUpdate(i, ACTIVE, 'c'));
    await awaitProbes(probes, status, statusOf(ACTIVE));

    // Background: `rate` events per second, paced every 10 ms.
    let sent = 0;
    let stopping = false;
    const started = performance.now();
    const background = (async () => {
      while (!stopping) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        while (sent < due) {
          if (!send(stream.next())) await new Promise((r) => ch.once('drain', r));
          sent++;
        }
        await sleep(10);
      }
    })();

    // Probes, one at a time: change a probe customer's crm status and poll GraphQL until it shows.
    await sleep(2000);
    const { latencies, timeouts } = await probeStatusChanges({ probes, durationS: size.durationS, statusOf, status, change: (i, next) => void send(stream.crmUpdate(i, next)) });
    stopping = true;
    await background;
    const elapsedS = (performance.now() - started) / 1000;
    const backlog = await queueDepth(urls.amqp, QUEUE);
    await ch.close();

    const sorted = Float64Array.from(latencies).sort();
    const p50 = percentile(sorted, 0.5);
    const p90 = percentile(sorted, 0.9);
    const p99 = percentile(sorted, 0.99);
    const achieved = sent / elapsedS;
    return {
      figures: [
        {
          bench: 'freshness',
          name: `publish → visible through GraphQL, p50 (${latencies.length} probes, ${timeouts} timed out)`,
          value: { value: p50, unit: 'ms' },
          aim: { text: '< 25 ms', met: p50 < 25 && timeouts === 0 },
        },
        {
          bench: 'freshness',
          name: `publish → visible through GraphQL, p99, ingest at ${Math.round(achieved).toLocaleString('en')} events/s`,
          value: { value: p99, unit: 'ms' },
          aim: { text: '< 100 ms at half the maximum ingest', met: p99 < 100 && timeouts === 0 },
        },
      ],
      notes: [
        `Freshness: background change events at half of ingest's maximum (${Math.round(maxRate).toLocaleString('en')} events/s ${calibrated ? `measured just before with ${size.calibrationEvents.toLocaleString('en')} events` : 'from the ingest benchmark of this run'}), ` +
          `achieved ${Math.round(achieved).toLocaleString('en')} events/s, ${backlog.toLocaleString('en')} messages left queued at the end; ` +
          `${size.durationS} s of probes, one at a time: a crm status change of one of ${size.probeCustomers} probe customers, then \`customer(id) { status }\` polled every ~2 ms. ` +
          `API and consumer in one process (npm start), service defaults (batch 500, linger 10 ms).`,
      ],
      data: { size, maxRate, calibrated, targetRate: rate, achieved, backlog, probes: latencies.length, timeouts, p50, p90, p99, max: sorted[sorted.length - 1] },
    };
  } finally {
    await conn.close().catch(() => undefined);
    await app.stop();
    await deleteQueues(urls.amqp, [QUEUE]);
  }
}

/** Ingest's maximum when the ingest benchmark did not run in this invocation: a shorter run of the same kind (freshness and soak). */
export async function calibrate(ctx: BenchContext, customers: ReferenceCustomers, events: number, queue: string): Promise<number> {
  ctx.log(`measuring ingest's maximum with ${events.toLocaleString('en')} events`);
  await ctx.view.reset();
  await ctx.view.seed(customers, ctx.mappings);
  await clearRedisPrefix(ctx.urls.redis, BENCH_NAMES.redisPrefix);
  await freshQueues(ctx.urls.amqp, BENCH_NAMES.exchange, [queue]);
  await publishAll(ctx.urls.amqp, BENCH_NAMES.exchange, new ChangeEventStream(customers, ctx.domain).take(events));
  const app = await WorkerHandle.start('app', { parts: { api: false, ingest: true }, env: { AMQP_QUEUE: queue } });
  try {
    return steadyRate(await app.request<ConsumedTimeline>('watchConsumed', { target: events }));
  } finally {
    await app.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

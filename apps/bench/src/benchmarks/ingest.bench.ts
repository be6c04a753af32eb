import { join } from 'node:path';
import { BENCH_NAMES } from '../bench.env';
import { BenchContext, BenchOutcome, ratio } from '../bench.model';
import { ChangeEventStream } from '../data/change-event.stream';
import { ReferenceCustomers } from '../data/reference-data';
import { clearRedisPrefix, deleteQueues, freshQueues, publishAll } from '../infra/servers';
import { AppWorkerInfo, ConsumedTimeline } from '../workers/app.worker';
import { BareAmqpArgs } from '../workers/bare-amqp.worker';
import { KafkaHandlerArgs, KafkaHandlerResult } from '../workers/kafka-handler.worker';
import { WorkerHandle } from '../workers/worker.host';

export interface IngestSize {
  events: number;
  customers: number;
}

const APP_QUEUE = 'bench.ingest.app';
const BARE_QUEUE = 'bench.ingest.bare';

/** Steady-state rate: from the first acknowledged batch to the last message. */
export const steadyRate = (t: ConsumedTimeline): number => ((t.consumed - t.firstCount) / (t.doneAt - t.firstAt)) * 1000;

/**
 * 1. Change events already queued in RabbitMQ, consumed by the service until all are committed to
 * PostgreSQL and Redis; the same messages acknowledged by a bare amqplib consumer; the same events
 * through the Kafka adapter's handler from memory.
 */
export async function ingestBench(ctx: BenchContext, size: IngestSize): Promise<BenchOutcome> {
  const { urls, domain } = ctx;
  const profileDir = ctx.profileDir && join(ctx.profileDir, 'ingest');
  const customers = new ReferenceCustomers(size.customers);
  const events = new ChangeEventStream(customers, domain).take(size.events);
  const expectedCustomers = size.customers + new Set(events.filter((e) => e.customer > size.customers).map((e) => e.customer)).size;

  const fresh = async () => {
    await ctx.view.reset();
    await ctx.view.seed(customers, ctx.mappings);
    await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix);
  };
  const check = async (what: string, deadLettered: number) => {
    const n = await ctx.view.customerCount();
    if (n !== expectedCustomers || deadLettered !== 0) {
      throw new Error(`${what}: ${n} customers (expected ${expectedCustomers}), ${deadLettered} dead-lettered (expected 0)`);
    }
  };

  ctx.log(`ingest: seeding ${size.customers.toLocaleString('en')} customers, queueing ${size.events.toLocaleString('en')} events`);
  await fresh();
  await freshQueues(urls.amqp, BENCH_NAMES.exchange, [APP_QUEUE, BARE_QUEUE]);
  let t = Date.now();
  await publishAll(urls.amqp, BENCH_NAMES.exchange, events);
  const publishMs = Date.now() - t;

  ctx.log('ingest: bare amqplib consumer');
  const bareArgs: BareAmqpArgs = { queue: BARE_QUEUE, prefetch: 1000, batchSize: 500, lingerMs: 10, target: size.events };
  const bare = await WorkerHandle.start('bare-amqp', bareArgs, { profileDir });
  const bareT = await bare.request<ConsumedTimeline>('wait');
  await bare.stop();

  ctx.log('ingest: the service (npm run start:ingest)');
  t = Date.now();
  const app = await WorkerHandle.start<AppWorkerInfo>('app', { parts: { api: false, ingest: true }, env: { AMQP_QUEUE: APP_QUEUE } }, { profileDir });
  const appT = await app.request<ConsumedTimeline>('watchConsumed', { target: size.events });
  const appWallMs = Date.now() - t;
  await app.stop();
  await check('ingest over RabbitMQ', appT.deadLettered);
  await deleteQueues(urls.amqp, [APP_QUEUE, BARE_QUEUE]);

  ctx.log('ingest: the Kafka adapter handler, from memory');
  await fresh();
  const kafkaArgs: KafkaHandlerArgs = { customers: size.customers, events: size.events, fetchSize: 1000 };
  const kafka = await WorkerHandle.start('kafka-handler', kafkaArgs, { profileDir });
  const kafkaR = await kafka.request<KafkaHandlerResult>('run');
  await kafka.stop();
  await check('Kafka handler', kafkaR.deadLettered);

  const bareRate = steadyRate(bareT);
  const appRate = steadyRate(appT);
  const kafkaRate = (kafkaR.events / (kafkaR.doneAt - kafkaR.startedAt)) * 1000;
  const r = ratio(appRate, bareRate);
  const eventsText = size.events.toLocaleString('en');
  return {
    figures: [
      {
        bench: 'ingest',
        name: `ingest over RabbitMQ → PostgreSQL + Redis (${eventsText} queued events)`,
        value: { value: appRate, unit: 'events/s' },
        reference: { name: 'bare amqplib consumer, ack only', value: bareRate, unit: 'events/s' },
        ratio: r,
        aim: { text: '≥ 0.5× bare and > 20,000 events/s', met: r >= 0.5 && appRate > 20_000 },
      },
      {
        bench: 'ingest',
        name: `ingest through KafkaBatchHandler from memory (${eventsText} events)`,
        value: { value: kafkaRate, unit: 'events/s' },
        reference: { name: 'ingest over RabbitMQ (above)', value: appRate, unit: 'events/s' },
        ratio: ratio(kafkaRate, appRate),
      },
    ],
    notes: [
      `Ingest: ${eventsText} events (85% updates, 10% new customers, 5% deletes; crm, billing and portal) over ${size.customers.toLocaleString('en')} seeded customers; ` +
        `service defaults (batch 500, linger 10 ms, prefetch 1000, outbox relay on). Rates are steady-state: from the first acknowledged batch to the last message. ` +
        `RabbitMQ's share of the service's time is 1 − (RabbitMQ rate ÷ Kafka-handler rate) = ${((1 - appRate / kafkaRate) * 100).toFixed(0)}%.`,
    ],
    data: {
      events: size.events,
      customers: size.customers,
      publishMs,
      bare: { rate: bareRate, ...bareT },
      app: { rate: appRate, wallMs: appWallMs, ...appT },
      kafka: { rate: kafkaRate, ...kafkaR },
    },
  };
}

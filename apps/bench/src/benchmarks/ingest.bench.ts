import { join } from 'node:path';
import { version as kafkajsVersion } from 'kafkajs/package.json';
import { KafkaMockCluster } from '@app/testing';
import { BENCH_NAMES, benchEnv, benchQueue } from '../bench.env';
import { BenchContext, BenchOutcome, ratio } from '../bench.model';
import { ChangeEventStream } from '../data/change-event.stream';
import { ReferenceCustomers } from '../data/reference-data';
import { queueInKafka } from '../infra/kafka';
import { clearRedisPrefix, deleteQueues, freshQueues, publishAll } from '../infra/servers';
import { AppWorkerInfo, ConsumedTimeline } from '../workers/app.worker';
import { BareAmqpArgs } from '../workers/bare-amqp.worker';
import { BareKafkaArgs } from '../workers/bare-kafka.worker';
import { ProjectionArgs, ProjectionResult } from '../workers/projection.worker';
import { WorkerHandle } from '../workers/worker.host';

export interface IngestSize {
  events: number;
  customers: number;
}

const APP_QUEUE = benchQueue('bench.ingest.app');
const BARE_QUEUE = benchQueue('bench.ingest.bare');
const KAFKA_APP_GROUP = 'bench.ingest.app';
const KAFKA_BARE_GROUP = 'bench.ingest.bare';

/** Steady-state rate: from the first acknowledged batch to the last message. */
export const steadyRate = (t: ConsumedTimeline): number => ((t.consumed - t.firstCount) / (t.doneAt - t.firstAt)) * 1000;

/**
 * 1. Change events already queued in RabbitMQ, consumed by the service until all are committed to
 * PostgreSQL and Redis; the same messages acknowledged by a bare amqplib consumer. The same events
 * queued in Kafka (librdkafka's mock cluster), consumed by the service over Kafka and by a bare
 * kafkajs consumer that only commits offsets. The same events through the projection path from
 * memory, without a transport.
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

  ctx.log('ingest: Kafka (librdkafka mock cluster): queueing the same events');
  const cluster = await KafkaMockCluster.start();
  let kafkaBareT: ConsumedTimeline;
  let kafkaAppT: ConsumedTimeline;
  let kafkaPublishMs: number;
  let queued: { topics: string[]; partitions: number };
  try {
    t = Date.now();
    queued = await queueInKafka(cluster, events);
    kafkaPublishMs = Date.now() - t;
    // The service's own setting (CDC_CONCURRENCY, or BENCH_SERVICE_ENV's), for the bare consumer too.
    const concurrency = benchEnv(urls).cdc.concurrency;

    ctx.log('ingest: bare kafkajs consumer');
    const bareKafkaArgs: BareKafkaArgs = { brokers: cluster.brokers, groupId: KAFKA_BARE_GROUP, topics: queued.topics, batchSize: 500, concurrency, target: size.events };
    const bareKafka = await WorkerHandle.start('bare-kafka', bareKafkaArgs, { profileDir });
    kafkaBareT = await bareKafka.request<ConsumedTimeline>('wait');
    await bareKafka.stop();

    ctx.log('ingest: the service over Kafka (CDC_TRANSPORT=kafka)');
    await fresh();
    const kafkaApp = await WorkerHandle.start<AppWorkerInfo>(
      'app',
      { parts: { api: false, ingest: true }, env: { CDC_TRANSPORT: 'kafka', KAFKA_BROKERS: cluster.bootstrap, KAFKA_GROUP_ID: KAFKA_APP_GROUP, KAFKA_DLQ_TOPIC: 'bench.dlq' } },
      { profileDir },
    );
    kafkaAppT = await kafkaApp.request<ConsumedTimeline>('watchConsumed', { target: size.events });
    await kafkaApp.stop();
    await check('ingest over Kafka', kafkaAppT.deadLettered);
  } finally {
    await cluster.stop();
  }

  ctx.log('ingest: the projection path from memory');
  await fresh();
  const memoryArgs: ProjectionArgs = { customers: size.customers, events: size.events };
  const memory = await WorkerHandle.start('projection', memoryArgs, { profileDir });
  const memoryR = await memory.request<ProjectionResult>('run');
  await memory.stop();
  await check('projection from memory', memoryR.deadLettered);

  const bareRate = steadyRate(bareT);
  const appRate = steadyRate(appT);
  const kafkaBareRate = steadyRate(kafkaBareT);
  const kafkaRate = steadyRate(kafkaAppT);
  const memoryRate = (memoryR.events / (memoryR.doneAt - memoryR.startedAt)) * 1000;
  const r = ratio(appRate, bareRate);
  const eventsText = size.events.toLocaleString('en');
  const share = (rate: number) => `${((1 - rate / memoryRate) * 100).toFixed(0)}%`;
  return {
    figures: [
      {
        bench: 'ingest',
        name: `ingest over RabbitMQ → PostgreSQL + Redis (${eventsText} queued events)`,
        value: { value: appRate, unit: 'events/s' },
        reference: { name: 'bare amqplib consumer, ack only', value: bareRate, unit: 'events/s' },
        ratio: r,
        aim: { text: '≥ 0.5× bare and ≥ 25,000 events/s', met: r >= 0.5 && appRate >= 25_000 },
      },
      {
        bench: 'ingest',
        name: `ingest over Kafka → PostgreSQL + Redis (${eventsText} queued events, librdkafka mock cluster)`,
        value: { value: kafkaRate, unit: 'events/s' },
        reference: { name: 'bare kafkajs consumer, offset commits only', value: kafkaBareRate, unit: 'events/s' },
        ratio: ratio(kafkaRate, kafkaBareRate),
      },
      {
        bench: 'ingest',
        name: `the projection path from memory, no transport (${eventsText} events)`,
        value: { value: memoryRate, unit: 'events/s' },
        reference: { name: 'ingest over RabbitMQ (above)', value: appRate, unit: 'events/s' },
        ratio: ratio(memoryRate, appRate),
      },
    ],
    notes: [
      `Ingest: ${eventsText} events (85% updates, 10% new customers, 5% deletes; crm, billing and portal) over ${size.customers.toLocaleString('en')} seeded customers; ` +
        `service defaults (batch 500, linger 10 ms, prefetch 1000, CDC_CONCURRENCY 2, outbox relay on). Rates are steady-state: from the first acknowledged or committed batch to the last message. ` +
        `The transport's share of the service's time is 1 − (its rate ÷ the rate from memory): RabbitMQ ${share(appRate)}, Kafka ${share(kafkaRate)}.`,
      `Kafka: librdkafka 2.0.2's mock cluster started by kcat (3 brokers on 127.0.0.1, ${queued.partitions} partitions: 4 per topic), not Apache Kafka; the events keyed by record and ` +
        `gzip-compressed when queued (the mock keeps only 5 MB per partition; every partition checked to still start at offset 0), queued in ${(kafkaPublishMs / 1000).toFixed(1)} s. ` +
        `Both consumers: kafkajs ${kafkajsVersion}, eachBatch, one offset commit per chunk of 500, ${benchEnv(urls).cdc.concurrency} partitions at once, each its own consumer group reading from the beginning.`,
    ],
    data: {
      events: size.events,
      customers: size.customers,
      publishMs,
      bare: { rate: bareRate, ...bareT },
      app: { rate: appRate, wallMs: appWallMs, ...appT },
      kafka: { rate: kafkaRate, publishMs: kafkaPublishMs, ...kafkaAppT },
      kafkaBare: { rate: kafkaBareRate, ...kafkaBareT },
      memory: { rate: memoryRate, ...memoryR },
    },
  };
}

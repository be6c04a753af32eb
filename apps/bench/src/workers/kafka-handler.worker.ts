import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { openConnections } from '@app/bootstrap';
import { ChangeEventDecoder, KafkaBatchHandler } from '@app/cdc';
import { ConfigModule, loadDomainConfig } from '@app/config';
import { ChangeBatchProcessor } from '@app/ingest';
import { ProjectionModule } from '@app/projection';
import { benchEnv, serverUrls } from '../bench.env';
import { ChangeEventStream } from '../data/change-event.stream';
import { ReferenceCustomers } from '../data/reference-data';
import { now } from './app.worker';
import { RssSampler, Worker } from './worker.protocol';

export interface KafkaHandlerArgs {
  env?: Record<string, string>;
  customers: number;
  events: number;
  /** Messages per fetched batch (kafkajs fetches up to maxBytesPerPartition, 1 MB ≈ 1,500 of these). */
  fetchSize: number;
}

export interface KafkaHandlerResult {
  events: number;
  startedAt: number;
  doneAt: number;
  commits: number;
  deadLettered: number;
  peakRssBytes: number;
}

@Module({})
class KafkaBenchModule {}

/**
 * The Kafka adapter's handler (KafkaBatchHandler) with the real ChangeBatchProcessor behind it,
 * fed the same change events from memory as kafkajs would deliver them, one partition per topic:
 * the projection path without any transport.
 */
export async function kafkaHandlerWorker(raw: unknown): Promise<Worker> {
  const args = raw as KafkaHandlerArgs;
  const env = benchEnv(serverUrls(), args.env);
  const domain = loadDomainConfig(env.configDir);
  const rss = new RssSampler();
  const connections = await openConnections(env);
  const ctx = await NestFactory.createApplicationContext(
    {
      module: KafkaBenchModule,
      imports: [ConfigModule.forRoot({ env, domain }), ProjectionModule.forRoot(connections)],
      providers: [{ provide: ChangeEventDecoder, useFactory: () => new ChangeEventDecoder(domain.sources, env.cdc.limits) }, ChangeBatchProcessor],
    },
    { logger: ['error', 'warn'], abortOnError: false },
  );
  let commits = 0;
  let deadLettered = 0;
  const handler = new KafkaBatchHandler(
    { batchSize: env.cdc.batchSize, retryMaxMs: env.cdc.retryMaxMs, dlqTopic: env.kafka.dlqTopic },
    ctx.get(ChangeBatchProcessor),
    {
      commit: async () => {
        commits++;
      },
      deadLetter: async (messages) => {
        deadLettered += messages.length;
      },
    },
    {
      debug: () => undefined,
      log: () => undefined,
      warn: (m: string) => process.stderr.write(`kafka-handler: ${m}\n`),
      error: (m: string) => process.stderr.write(`kafka-handler: ${m}\n`),
    },
  );

  const run = async (): Promise<KafkaHandlerResult> => {
    const stream = new ChangeEventStream(new ReferenceCustomers(args.customers), domain);
    const byTopic = new Map<string, KafkaMessage[]>();
    for (const e of stream.take(args.events)) {
      let list = byTopic.get(e.topic);
      if (!list) byTopic.set(e.topic, (list = []));
      list.push({ key: null, value: Buffer.from(e.body), timestamp: '0', attributes: 0, offset: String(list.length), headers: {} });
    }
    // Fetches alternate between the partitions, as a consumer assigned all three would see them.
    const payloads: EachBatchPayload[] = [];
    const lists = [...byTopic.entries()];
    for (let start = 0; lists.some(([, l]) => start < l.length); start += args.fetchSize) {
      for (const [topic, list] of lists) {
        const messages = list.slice(start, start + args.fetchSize);
        if (messages.length) payloads.push(payload(topic, messages));
      }
    }
    rss.reset();
    const startedAt = now();
    for (const p of payloads) await handler.eachBatch(p);
    return { events: args.events, startedAt, doneAt: now(), commits, deadLettered, peakRssBytes: rss.peak };
  };

  return {
    info: null,
    async handle(cmd) {
      if (cmd !== 'run') throw new Error(`unknown command ${cmd}`);
      return run();
    },
    async stop() {
      rss.stop();
      await ctx.close();
      await connections.close();
    },
  };
}

function payload(topic: string, messages: KafkaMessage[]): EachBatchPayload {
  const last = messages[messages.length - 1].offset;
  const highWatermark = (BigInt(last) + 1n).toString();
  return {
    batch: {
      topic,
      partition: 0,
      highWatermark,
      messages,
      isEmpty: () => messages.length === 0,
      firstOffset: () => messages[0]?.offset ?? null,
      lastOffset: () => last,
      offsetLag: () => '0',
      offsetLagLow: () => '0',
    },
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    pause: () => () => undefined,
    commitOffsetsIfNecessary: async () => undefined,
    uncommittedOffsets: () => ({ topics: [] }),
    isRunning: () => true,
    isStale: () => false,
  };
}

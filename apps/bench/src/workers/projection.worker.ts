import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { openConnections } from '@app/bootstrap';
import { DebeziumJsonDecoder, decodeMessages } from '@app/cdc';
import { ConfigModule, loadDomainConfig } from '@app/config';
import { IngestChangesUseCase } from '@app/ingest';
import { ProjectionModule } from '@app/projection';
import { benchEnv, serverUrls } from '../bench.env';
import { ChangeEventStream } from '../data/change-event.stream';
import { ReferenceCustomers } from '../data/reference-data';
import { now } from './app.worker';
import { RssSampler, Worker } from './worker.protocol';

export interface ProjectionArgs {
  env?: Record<string, string>;
  customers: number;
  events: number;
}

export interface ProjectionResult {
  events: number;
  startedAt: number;
  doneAt: number;
  batches: number;
  deadLettered: number;
  peakRssBytes: number;
}

@Module({})
class ProjectionBenchModule {}

/**
 * The projection path without any transport: the Debezium JSON decoder and the real ingest use
 * case (rules, PostgreSQL, Redis) fed the same change events from memory, in batches of CDC_BATCH_SIZE,
 * CDC_CONCURRENCY at once. What the service could do if receiving and acknowledging cost nothing.
 */
export async function projectionWorker(raw: unknown): Promise<Worker> {
  const args = raw as ProjectionArgs;
  const env = benchEnv(serverUrls(), args.env);
  const domain = loadDomainConfig(env.configDir);
  const rss = new RssSampler();
  const connections = await openConnections(env);
  const ctx = await NestFactory.createApplicationContext(
    {
      module: ProjectionBenchModule,
      imports: [ConfigModule.forRoot({ env, domain }), ProjectionModule.forRoot(connections)],
      providers: [IngestChangesUseCase],
    },
    { logger: ['error', 'warn'], abortOnError: false },
  );
  const ingest = ctx.get(IngestChangesUseCase);
  const decoder = new DebeziumJsonDecoder(domain.sources, env.cdc.limits);
  const silent = { error: () => undefined };

  const run = async (): Promise<ProjectionResult> => {
    const stream = new ChangeEventStream(new ReferenceCustomers(args.customers), domain);
    const messages = stream.take(args.events).map((e, i) => ({ topic: e.topic, value: Buffer.from(e.body), ref: `event ${i}` }));
    rss.reset();
    let batches = 0;
    let deadLettered = 0;
    let next = 0;
    const startedAt = now();
    // CDC_CONCURRENCY batches at once, as both transports apply them.
    const lane = async () => {
      while (next < messages.length) {
        const from = next;
        next += env.cdc.batchSize;
        // Decoded in the lane, as a transport decodes each batch it hands over.
        const verdicts = await ingest.apply(decodeMessages(decoder, messages.slice(from, from + env.cdc.batchSize), silent));
        deadLettered += verdicts.filter((v) => v.kind === 'dead-letter').length;
        batches++;
      }
    };
    await Promise.all(Array.from({ length: env.cdc.concurrency }, lane));
    return { events: args.events, startedAt, doneAt: now(), batches, deadLettered, peakRssBytes: rss.peak };
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

import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { openConnections } from '@app/bootstrap';
import { ChangeEventDecoder, InboundMessage } from '@app/cdc';
import { ConfigModule, loadDomainConfig } from '@app/config';
import { ChangeBatchProcessor } from '@app/ingest';
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
 * The projection path without any transport: the real ChangeBatchProcessor (decoding, rules,
 * PostgreSQL, Redis) fed the same change events from memory, in batches of CDC_BATCH_SIZE,
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
      providers: [{ provide: ChangeEventDecoder, useFactory: () => new ChangeEventDecoder(domain.sources, env.cdc.limits) }, ChangeBatchProcessor],
    },
    { logger: ['error', 'warn'], abortOnError: false },
  );
  const processor = ctx.get(ChangeBatchProcessor);

  const run = async (): Promise<ProjectionResult> => {
    const stream = new ChangeEventStream(new ReferenceCustomers(args.customers), domain);
    const messages: InboundMessage[] = stream.take(args.events).map((e, i) => ({ topic: e.topic, value: Buffer.from(e.body), ref: `event ${i}` }));
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
        const verdicts = await processor.handle(messages.slice(from, from + env.cdc.batchSize));
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

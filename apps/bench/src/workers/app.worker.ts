import { performance } from 'node:perf_hooks';
import { AppParts, startApp } from '@app/bootstrap';
import { loadDomainConfig } from '@app/config';
import type { AmqpCdcConsumer, ConsumerStats, KafkaCdcConsumer, PostgresDirectSource } from '@app/cdc';
import { CdcConsumerService } from '@app/ingest';
import { CustomerCache, CustomerReader } from '@app/projection';
import { benchEnv, serverUrls } from '../bench.env';
import { customerId } from '../data/reference-data';
import { RssSampler, Worker } from './worker.protocol';

export interface AppWorkerArgs {
  parts: AppParts;
  env?: Record<string, string>;
  /** Set in the worker's process.env before the start: what the service reads from there (a direct system's URL variable). */
  processEnv?: Record<string, string>;
}

export interface AppWorkerInfo {
  url: string;
}

export interface ConsumedTimeline {
  /** When the first batch was acknowledged (epoch ms, sub-ms precision), and how many it held. */
  firstAt: number;
  firstCount: number;
  /** When `target` messages were acknowledged. */
  doneAt: number;
  consumed: number;
  deadLettered: number;
  batches: number;
  retries: number;
  peakRssBytes: number;
}

export const now = (): number => performance.timeOrigin + performance.now();

/** The service itself, started like `npm start` (startApp) with the benchmark's names. */
export async function appWorker(raw: unknown): Promise<Worker> {
  const args = raw as AppWorkerArgs;
  Object.assign(process.env, args.processEnv ?? {});
  const env = benchEnv(serverUrls(), args.env);
  const domain = loadDomainConfig(env.configDir, { directSystems: env.cdc.directSystems });
  const rss = new RssSampler();
  const running = await startApp(args.parts, { env, domain, logger: ['error', 'warn'] });
  // Every transport counts alike: consumed, dead-lettered, batches, retries. `transport` names a
  // source of the consumer service (`direct:crm`); the message transport when absent.
  const consumer = (transport?: string): { stats: ConsumerStats } => {
    const service = running.app.get(CdcConsumerService);
    const t = transport ? service.transports.get(transport) : service.consumer;
    if (!t) throw new Error(`no transport ${transport ?? '(message transport)'} in this process`);
    return t as AmqpCdcConsumer | KafkaCdcConsumer | PostgresDirectSource;
  };

  const watch = async (target: number, timeoutMs: number, transport?: string): Promise<ConsumedTimeline> => {
    const stats = consumer(transport).stats;
    const deadline = Date.now() + timeoutMs;
    let firstAt = 0;
    let firstCount = 0;
    rss.reset();
    for (;;) {
      if (firstAt === 0 && stats.consumed > 0) {
        firstAt = now();
        firstCount = stats.consumed;
      }
      if (stats.consumed >= target) {
        return { firstAt, firstCount, doneAt: now(), ...stats, peakRssBytes: rss.peak };
      }
      if (Date.now() > deadline) throw new Error(`consumed ${stats.consumed} of ${target} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };

  /** Loads customers from..to from PostgreSQL and writes them to Redis: a warm cache. */
  const warm = async (from: number, to: number): Promise<number> => {
    const reader = running.app.get(CustomerReader);
    const cache = running.app.get(CustomerCache);
    let written = 0;
    for (let start = from; start <= to; start += 1000) {
      const ids: string[] = [];
      for (let i = start; i <= Math.min(to, start + 999); i++) ids.push(customerId(i));
      const loaded = [...(await reader.loadFromDatabase(ids)).values()];
      await cache.write(loaded);
      written += loaded.length;
    }
    return written;
  };

  return {
    info: { url: running.url } satisfies AppWorkerInfo,
    async handle(cmd, a) {
      const x = (a ?? {}) as { target?: number; timeoutMs?: number; from?: number; to?: number; transport?: string };
      switch (cmd) {
        case 'watchConsumed':
          return watch(x.target ?? 0, x.timeoutMs ?? 300_000, x.transport);
        case 'stats':
          return { ...consumer(x.transport).stats, rssBytes: rss.sample() };
        case 'details':
          return running.app.get(CdcConsumerService).transports.get(x.transport ?? '')?.details() ?? null;
        case 'warm':
          return warm(x.from ?? 1, x.to ?? 0);
        default:
          throw new Error(`unknown command ${cmd}`);
      }
    },
    async stop() {
      rss.stop();
      await running.close();
    },
  };
}

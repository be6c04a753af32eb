import Fastify from 'fastify';
import Redis from 'ioredis';
import { RedisKeys } from '@app/projection';
import { BENCH_NAMES, serverUrls } from '../bench.env';
import { Worker } from './worker.protocol';

/** The body of a cached `format:version|body` entry (see ViewCodec), as it is. */
const viewOf = (value: string | null): string => (value === null ? 'null' : value.slice(value.indexOf('|') + 1) || 'null');

/**
 * The reads reference: a bare Fastify route that GETs the same Redis key as the service and
 * returns it as it is (no GraphQL, no parsing), and the same for 100 keys with one MGET.
 */
export async function bareHttpWorker(): Promise<Worker> {
  // The same client setting as the service (auto-pipelining), so that the ratio measures our code, not a setting.
  const redis = new Redis(serverUrls().redis, { enableAutoPipelining: true });
  const keys = new RedisKeys(BENCH_NAMES.redisPrefix);
  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>('/customer/:id', async (req, reply) => {
    reply.type('application/json');
    return viewOf(await redis.get(keys.customer(req.params.id)));
  });
  app.get<{ Querystring: { ids: string } }>('/customers', async (req, reply) => {
    const values = await redis.mget(...req.query.ids.split(',').map((id) => keys.customer(id)));
    reply.type('application/json');
    return `[${values.map(viewOf).join(',')}]`;
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    info: { url: address },
    async handle(cmd) {
      throw new Error(`unknown command ${cmd}`);
    },
    async stop() {
      await app.close();
      redis.disconnect();
    },
  };
}

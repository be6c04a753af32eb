import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { EnvConfig } from '@app/config';
import { unreachable } from './startup.error';
import { openStatusviewDatabase } from './statusview.database';

export interface Connections {
  dataSource: DataSource;
  redis: Redis;
  redisPrefix: string;
  close(): Promise<void>;
}

/** A Redis client that fails fast while disconnected (reads fall back to PostgreSQL) and reconnects by itself. */
export function createRedis(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 3000,
    // A hung Redis (connection open, no answers) must not hold reads: they fall back to PostgreSQL.
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    // Commands issued in the same tick (the reads of concurrent requests) go out in one socket
    // write: one write per request was 14% of the API's CPU at 64 connections.
    enableAutoPipelining: true,
  });
}

/**
 * Opens PostgreSQL (creating the database and running migrations) and Redis, and checks that
 * RabbitMQ answers when it is the transport, before Nest boots: a missing service is one clear line.
 */
export async function openConnections(env: EnvConfig, opts: { checkBroker?: boolean; poolSize?: number } = {}): Promise<Connections> {
  let dataSource: DataSource;
  try {
    dataSource = await openStatusviewDatabase(env.database.url, opts.poolSize);
  } catch (e) {
    throw unreachable('PostgreSQL', env.database.url, e);
  }
  const redis = createRedis(env.redis.url);
  redis.on('error', () => undefined); // reported through health and by the callers that fail
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    await dataSource.destroy();
    throw unreachable('Redis', env.redis.url, e);
  }
  if (opts.checkBroker && env.cdc.transport === 'amqp') {
    try {
      const conn = await amqp.connect(env.amqp.url);
      await conn.close();
    } catch (e) {
      redis.disconnect();
      await dataSource.destroy();
      throw unreachable('RabbitMQ', env.amqp.url, e);
    }
  }
  return {
    dataSource,
    redis,
    redisPrefix: env.redis.prefix,
    close: async () => {
      redis.disconnect();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

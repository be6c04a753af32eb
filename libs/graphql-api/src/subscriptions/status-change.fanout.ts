import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import Redis from 'ioredis';
import { FastifyInstance } from 'fastify';
import { REDIS_CLIENT, REDIS_KEYS, RedisKeys, StatusChangeMessage } from '@app/projection';

export const STATUS_CHANGED_TOPIC = 'STATUS_CHANGED';

type WithPubsub = FastifyInstance & { graphql?: { pubsub: { publish(event: { topic: string; payload: unknown }): Promise<void> | void } } };

/**
 * Fans status changes out to this instance's GraphQL subscribers: every API instance listens on
 * the Redis channel the outbox relay publishes to, so it works with any number of instances.
 */
@Injectable()
export class StatusChangeFanout implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('subscriptions');
  private subscriber?: Redis;

  constructor(
    private readonly http: HttpAdapterHost,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const fastify = this.http.httpAdapter.getInstance<WithPubsub>();
    const pubsub = fastify.graphql?.pubsub;
    if (!pubsub) return;
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, lazyConnect: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        // The relay publishes one JSON array per relayed batch.
        const parsed = JSON.parse(message) as StatusChangeMessage | StatusChangeMessage[];
        for (const change of Array.isArray(parsed) ? parsed : [parsed]) {
          void pubsub.publish({ topic: STATUS_CHANGED_TOPIC, payload: { customerStatusChanged: change } });
        }
      } catch (e) {
        this.logger.warn(`ignored a malformed status change on ${this.keys.statusChannel}: ${(e as Error).message}`);
      }
    });
    await subscriber.connect();
    await subscriber.subscribe(this.keys.statusChannel);
    this.subscriber = subscriber;
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }
}

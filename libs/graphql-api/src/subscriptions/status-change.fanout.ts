import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { StatusChangeFeed, Unsubscribe } from '@app/projection';

export const STATUS_CHANGED_TOPIC = 'STATUS_CHANGED';

type WithPubsub = FastifyInstance & { graphql?: { pubsub: { publish(event: { topic: string; payload: unknown }): Promise<void> | void } } };

/**
 * Fans status changes out to this instance's GraphQL subscribers: every API instance listens to
 * the projection's feed of what the outbox relay publishes, so it works with any number of instances.
 */
@Injectable()
export class StatusChangeFanout implements OnApplicationBootstrap, OnApplicationShutdown {
  private unsubscribe?: Unsubscribe;

  constructor(
    private readonly http: HttpAdapterHost,
    private readonly feed: StatusChangeFeed,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const fastify = this.http.httpAdapter.getInstance<WithPubsub>();
    const pubsub = fastify.graphql?.pubsub;
    if (!pubsub) return;
    this.unsubscribe = await this.feed.subscribe((changes) => {
      // `removed` is absent from what an instance of an earlier release publishes.
      for (const change of changes) void pubsub.publish({ topic: STATUS_CHANGED_TOPIC, payload: { customerStatusChanged: { ...change, removed: change.removed === true } } });
    });
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisKeys } from '../cache/redis-keys';
import { REDIS_CLIENT, REDIS_KEYS } from '../database/projection.tokens';
import { StatusChangeMessage } from './status-outbox.relay';

/** Stops a subscription (and closes its connection). */
export type Unsubscribe = () => void;

/**
 * The status changes the outbox relay announces on Redis pub/sub (one JSON array per relayed
 * batch), as they come: what GraphQL subscriptions fan out on every API instance.
 */
@Injectable()
export class StatusChangeFeed {
  private readonly logger = new Logger('subscriptions');

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {}

  /** Calls `listener` with each announced batch; a malformed announcement, or a listener that throws, is logged. */
  async subscribe(listener: (changes: StatusChangeMessage[]) => void): Promise<Unsubscribe> {
    // A subscriber connection cannot run other commands, and must queue while reconnecting.
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, lazyConnect: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined); // reconnects by itself
    subscriber.on('message', (_channel: string, message: string) => {
      let changes: StatusChangeMessage[];
      try {
        const parsed = JSON.parse(message) as StatusChangeMessage | StatusChangeMessage[];
        changes = Array.isArray(parsed) ? parsed : [parsed];
      } catch (e) {
        this.logger.warn(`ignored a malformed status change on ${this.keys.statusChannel}: ${(e as Error).message}`);
        return;
      }
      try {
        listener(changes);
      } catch (e) {
        this.logger.error(`a status change listener failed: ${(e as Error).message}`);
      }
    });
    await subscriber.connect();
    await subscriber.subscribe(this.keys.statusChannel);
    return () => subscriber.disconnect();
  }
}

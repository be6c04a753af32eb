import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS_CLIENT, REDIS_KEYS } from '../database/projection.tokens';
import { RedisKeys } from '../cache/redis-keys';
import { ActiveRuleSet } from './active-rule-set';
import { RuleSetRepository } from './rule-set.repository';

const POLL_MS = 5000;

/**
 * Keeps every instance on the active rule set: a publish is announced on Redis pub/sub and picked
 * up at once; a poll of the active row covers a missed message (Redis down at the time).
 */
@Injectable()
export class RuleSetSyncService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('rules');
  private subscriber?: Redis;
  private poll?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    private readonly active: ActiveRuleSet,
    private readonly repository: RuleSetRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    // A subscriber connection cannot run other commands, and must queue while reconnecting.
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, lazyConnect: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, message: string) => {
      const version = Number(JSON.parse(message).version);
      this.active.ensure(version).catch((e: Error) => this.logger.error(`cannot activate rule set version ${version}: ${e.message}`));
    });
    await subscriber.connect();
    await subscriber.subscribe(this.keys.ruleSetChannel);
    this.subscriber = subscriber;
    this.poll = setInterval(() => {
      this.repository
        .activeVersion()
        .then((v) => this.active.ensure(v))
        .catch(() => undefined);
    }, POLL_MS);
    this.poll.unref();
  }

  /** Tells every instance (this one included) that `version` is active. */
  async announce(version: number): Promise<void> {
    await this.redis.publish(this.keys.ruleSetChannel, JSON.stringify({ version }));
  }

  onApplicationShutdown(): void {
    if (this.poll) clearInterval(this.poll);
    this.subscriber?.disconnect();
  }
}

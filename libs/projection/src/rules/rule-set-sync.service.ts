import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { backgroundFailed, backgroundSucceeded } from '@app/observability';
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
      this.active.ensure(version).then(
        () => backgroundSucceeded('rule-set-sync'),
        (e: unknown) => backgroundFailed('rule-set-sync', e, `cannot activate rule set version ${version}`),
      );
    });
    await subscriber.connect();
    await subscriber.subscribe(this.keys.ruleSetChannel);
    this.subscriber = subscriber;
    this.poll = setInterval(() => {
      // Logged once per 12 failures in a row (a minute): PostgreSQL down is reported by /health already.
      this.repository
        .activeVersion()
        .then((v) => this.active.ensure(v))
        .then(
          () => backgroundSucceeded('rule-set-sync'),
          (e: unknown) => backgroundFailed('rule-set-sync', e, 'cannot read the active rule set version', 12),
        );
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

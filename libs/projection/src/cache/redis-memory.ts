import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import Redis from 'ioredis';
import { cacheWritesRefused, setScrapeSource } from '@app/observability';
import { REDIS_CLIENT } from '../database/projection.tokens';

/** Redis's memory settings as read at start: by CONFIG GET, or from INFO when CONFIG is refused (managed Redis often renames it). */
export interface RedisMemorySettings {
  maxBytes: number;
  policy: string;
  /** `CONFIG GET`, or `INFO memory` with the reason CONFIG was refused. */
  readBy: 'CONFIG GET' | { info: string };
}

export interface RedisMemoryUsage {
  usedBytes: number;
  /** 0: no limit. */
  maxBytes: number;
  policy: string;
  /** At its limit, or the last cache write was refused (OOM): reads are served from PostgreSQL. */
  full: boolean;
}

/**
 * What to tell the operator about Redis's memory settings, or null when they suit a small node.
 * With no limit Redis can take the whole node; with `noeviction` a full Redis refuses writes
 * (the service then serves from PostgreSQL, slower, and the cache stops refreshing).
 */
export function memoryAdvice(s: Pick<RedisMemorySettings, 'maxBytes' | 'policy'>): string | null {
  const problems: string[] = [];
  if (s.maxBytes === 0) problems.push('no memory limit (maxmemory 0): it can grow until the node runs out of memory');
  if (s.policy === 'noeviction') problems.push('maxmemory-policy noeviction: when full it refuses writes, so the cache stops refreshing and reads fall back to PostgreSQL');
  else if (s.policy.startsWith('volatile-')) problems.push(`maxmemory-policy ${s.policy}: the cache's keys have no expiry, so it can evict none of them and refuses writes when full`);
  if (problems.length === 0) return null;
  return `Redis has ${problems.join('; and ')}. Set maxmemory (e.g. maxmemory 256mb, see docs/operations.md) and maxmemory-policy allkeys-lru: every cached view can be rebuilt from PostgreSQL`;
}

/** Redis refused a write because it is at `maxmemory` (policy noeviction, or nothing it may evict). */
export function isOutOfMemory(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith('OOM ');
}

function infoField(info: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return m ? m[1].trim() : undefined;
}

/**
 * Redis's memory use against its limit: read at start (with a warning when the settings would
 * hurt a small node), on /health and on every scrape of /metrics; and whether the cache's writes
 * are being refused.
 */
@Injectable()
export class RedisMemory implements OnApplicationBootstrap {
  private readonly logger = new Logger('redis');
  private refusing = false;
  private settings?: RedisMemorySettings;

  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async onApplicationBootstrap(): Promise<void> {
    setScrapeSource('redisUsedMemory', async () => (await this.usage()).usedBytes);
    setScrapeSource('redisMaxMemory', async () => (await this.usage()).maxBytes);
    try {
      this.settings = await this.readSettings();
    } catch (e) {
      this.logger.warn(`cannot read Redis's memory settings (CONFIG GET and INFO memory both failed): ${(e as Error).message}`);
      return;
    }
    if (typeof this.settings.readBy !== 'string') this.logger.warn(`Redis refused CONFIG GET (${this.settings.readBy.info}); its memory settings were read from INFO memory instead`);
    const advice = memoryAdvice(this.settings);
    if (advice) this.logger.warn(advice);
    else this.logger.log(`Redis maxmemory ${this.settings.maxBytes} bytes, maxmemory-policy ${this.settings.policy}`);
  }

  /** The settings read at start (undefined if they could not be read). */
  get startSettings(): RedisMemorySettings | undefined {
    return this.settings;
  }

  async readSettings(): Promise<RedisMemorySettings> {
    try {
      const reply = (await this.redis.call('CONFIG', 'GET', 'maxmemory', 'maxmemory-policy')) as string[];
      const pairs = new Map<string, string>();
      for (let i = 0; i + 1 < reply.length; i += 2) pairs.set(reply[i], reply[i + 1]);
      return { maxBytes: Number(pairs.get('maxmemory') ?? 0), policy: pairs.get('maxmemory-policy') ?? 'unknown', readBy: 'CONFIG GET' };
    } catch (e) {
      const { maxBytes, policy } = await this.usage();
      return { maxBytes, policy, readBy: { info: (e as Error).message } };
    }
  }

  /** One INFO memory round trip. */
  async usage(): Promise<RedisMemoryUsage> {
    const info = await this.redis.info('memory');
    const usedBytes = Number(infoField(info, 'used_memory') ?? 0);
    const maxBytes = Number(infoField(info, 'maxmemory') ?? 0);
    const policy = infoField(info, 'maxmemory_policy') ?? 'unknown';
    return { usedBytes, maxBytes, policy, full: this.refusing || (maxBytes > 0 && usedBytes >= maxBytes) };
  }

  /** A cache write was refused (OOM): counted, and logged when it starts. */
  refused(e: Error): void {
    cacheWritesRefused.inc();
    if (this.refusing) return;
    this.refusing = true;
    this.logger.warn(`Redis is full and refuses the cache's writes (${e.message.split('\n')[0]}); reads are served from PostgreSQL until it accepts them again`);
  }

  /** A cache write went through. */
  accepted(): void {
    if (!this.refusing) return;
    this.refusing = false;
    this.logger.log('Redis accepts the cache\'s writes again');
  }
}

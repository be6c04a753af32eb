import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { DOMAIN_CONFIG, DomainConfig } from '@app/config';
import { CustomerView } from '../customer-view.model';
import { REDIS_CLIENT, REDIS_KEYS } from '../database/projection.tokens';
import { RedisKeys } from './redis-keys';
import { isOutOfMemory, RedisMemory } from './redis-memory';
import { ViewCodec } from './view.codec';

/**
 * The shape of the cached view. Values are `format:version|body` (body: see ViewCodec), where
 * format is VIEW_FORMAT followed by ten digits of the configured systems' fields (the body leaves
 * their names out): a deploy that changes the shape raises VIEW_FORMAT, and an entry of another
 * format (an older deploy's, other configuration's, or one without a format) is a miss for reads
 * and is replaced by any write, so that no instance ever serves a shape it does not know.
 */
export const VIEW_FORMAT = 2;

/**
 * Writes only if the entry is absent, of another format, or older: a slow writer (a read
 * refilling after a miss, a retried batch) can never put back an older view over a newer one.
 */
const WRITE_IF_NEWER = `
for i = 1, #KEYS do
  local value = ARGV[i]
  local f, v = string.match(value, '^(%d+):(%d+)|')
  local cur = redis.call('GET', KEYS[i])
  local cf, cv
  if cur then cf, cv = string.match(cur, '^(%d+):(%d+)|') end
  if not cv or cf ~= f or tonumber(cv) < tonumber(v) then redis.call('SET', KEYS[i], value) end
end
return #KEYS`;

export type CachedEntry = { version: number; view: CustomerView | null };

/** The GraphQL-ready view of each customer in Redis, written after the database commit. */
@Injectable()
export class CustomerCache {
  private readonly codec: ViewCodec;
  /** `format:` as entries start. */
  readonly formatPrefix: string;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    private readonly memory: RedisMemory,
    @Inject(DOMAIN_CONFIG) domain: DomainConfig,
  ) {
    this.codec = new ViewCodec(domain.sources);
    this.formatPrefix = `${VIEW_FORMAT}${this.codec.shapeDigits}:`;
    this.redis.defineCommand('svWriteIfNewer', { lua: WRITE_IF_NEWER });
  }

  /**
   * One round trip for the whole batch. `null` views mark customers that no longer exist.
   * A full Redis (OOM: `noeviction`, or nothing it may evict) is not an outage: PostgreSQL holds
   * the truth, so the entries are dropped instead (DEL needs no memory and is allowed when full)
   * and read from PostgreSQL on their next read: 'refused'. Throws when Redis cannot be reached.
   */
  async write(entries: ReadonlyArray<{ id: string; version: number; view: CustomerView | null }>): Promise<'written' | 'refused'> {
    if (entries.length === 0) return 'written';
    const keys = entries.map((e) => this.keys.customer(e.id));
    const values = entries.map((e) => `${this.formatPrefix}${e.version}|${e.view ? this.codec.encode(e.view) : ''}`);
    try {
      await (this.redis as Redis & { svWriteIfNewer(n: number, ...args: string[]): Promise<number> }).svWriteIfNewer(keys.length, ...keys, ...values);
    } catch (e) {
      if (!isOutOfMemory(e)) throw e;
      this.memory.refused(e as Error);
      // An older entry left in place would be served: a miss instead.
      await this.redis.del(...keys);
      return 'refused';
    }
    this.memory.accepted();
    return 'written';
  }

  /** Drops entries (the next read refills them from PostgreSQL). */
  async evict(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.del(...ids.map((id) => this.keys.customer(id)));
  }

  /** One MGET; `undefined` where Redis has nothing (evicted, flushed, never written). */
  async read(ids: readonly string[]): Promise<Array<CachedEntry | undefined>> {
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(...ids.map((id) => this.keys.customer(id)));
    const prefix = this.formatPrefix;
    return raw.map((value, i) => {
      if (value === null || !value.startsWith(prefix)) return undefined;
      const bar = value.indexOf('|', prefix.length);
      const version = Number(value.slice(prefix.length, bar));
      return { version, view: bar === value.length - 1 ? null : this.codec.decode(ids[i], version, value.slice(bar + 1)) };
    });
  }
}

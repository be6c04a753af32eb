import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS_CLIENT, REDIS_KEYS } from '../database/projection.tokens';
import { RedisKeys } from '../cache/redis-keys';

/** How often a serving process announces itself, and how long an announcement counts. */
export const HEARTBEAT_MS = 5_000;
export const INSTANCE_FRESH_MS = 15_000;
/** Announcements older than this are removed by whoever reads them (an instance that died). */
const FORGET_AFTER_MS = 60 * 60 * 1000;
/** At most this many entries are read: a bound on what the hash can cost a reader. */
export const MAX_INSTANCES = 1_000;

export interface InstanceBeat {
  id: string;
  host: string;
  pid: number;
  parts: string[];
  ruleSetVersion: number;
  checksum: string;
  startedAt: string;
  lastSeen: string;
}

/**
 * Which rule set version every serving instance evaluates with. `/health` answers for its own
 * process only; each process writes a heartbeat into one Redis hash (one HSET every
 * HEARTBEAT_MS), and the console lists those seen in the last INSTANCE_FRESH_MS. An instance that
 * stops removes its entry; one that dies is dropped from the list after INSTANCE_FRESH_MS and
 * from the hash after an hour.
 */
@Injectable()
export class InstanceRegistry {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
  ) {}

  async beat(beat: InstanceBeat): Promise<void> {
    await this.redis.hset(this.keys.instances, beat.id, JSON.stringify(beat));
  }

  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.keys.instances, id);
  }

  /** Instances seen in the last INSTANCE_FRESH_MS, by id. */
  async list(now = Date.now()): Promise<InstanceBeat[]> {
    const ids = (await this.redis.hkeys(this.keys.instances)).slice(0, MAX_INSTANCES);
    if (ids.length === 0) return [];
    const values = await this.redis.hmget(this.keys.instances, ...ids);
    const fresh: InstanceBeat[] = [];
    const stale: string[] = [];
    values.forEach((v, i) => {
      const beat = v ? parseBeat(v) : null;
      const age = beat ? now - Date.parse(beat.lastSeen) : Infinity;
      if (beat && age <= INSTANCE_FRESH_MS) fresh.push(beat);
      else if (!beat || age > FORGET_AFTER_MS) stale.push(ids[i]);
    });
    if (stale.length) await this.redis.hdel(this.keys.instances, ...stale);
    return fresh.sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

function parseBeat(text: string): InstanceBeat | null {
  try {
    const b = JSON.parse(text) as Partial<InstanceBeat>;
    return typeof b.id === 'string' && typeof b.lastSeen === 'string' && typeof b.ruleSetVersion === 'number' ? (b as InstanceBeat) : null;
  } catch {
    return null; // not ours (written by hand?): removed as stale
  }
}

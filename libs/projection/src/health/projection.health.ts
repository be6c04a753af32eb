import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { RedisMemory } from '../cache/redis-memory';
import { PROJECTION_DATA_SOURCE, REDIS_CLIENT } from '../database/projection.tokens';

/** The projection's connections, checked for /health: each resolves when its server answers, and rejects otherwise. */
@Injectable()
export class ProjectionHealth {
  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly memory: RedisMemory,
  ) {}

  async database(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  /**
   * Redis's memory against its limit. A full Redis still counts as up: the service serves from
   * PostgreSQL and goes on ingesting, but it says so.
   */
  async cache(): Promise<Record<string, unknown>> {
    await this.redis.ping();
    const { usedBytes, maxBytes, policy, full } = await this.memory.usage();
    const details: Record<string, unknown> = { usedMemoryBytes: usedBytes, maxMemoryBytes: maxBytes, maxMemoryPolicy: policy, full };
    if (full) details.message = 'Redis is full: it refuses the cache\'s writes, reads are served from PostgreSQL (raise maxmemory or set maxmemory-policy allkeys-lru)';
    else if (maxBytes === 0) details.message = 'no maxmemory set (see docs/operations.md)';
    return details;
  }
}

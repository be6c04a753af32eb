import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { PROJECTION_DATA_SOURCE, REDIS_CLIENT } from '../database/projection.tokens';

/** The projection's connections, checked for /health: each resolves when its server answers, and rejects otherwise. */
@Injectable()
export class ProjectionHealth {
  constructor(
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  async database(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  async cache(): Promise<void> {
    await this.redis.ping();
  }
}

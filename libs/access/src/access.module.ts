import { DynamicModule, Module } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { RedisKeys } from '@app/projection';
import { ApiTokenService } from './tokens/api-token.service';
import { API_TOKEN_DATA_SOURCE, API_TOKEN_REDIS, API_TOKEN_REDIS_KEYS } from './tokens/api-token.tokens';

export interface AccessConnections {
  /** The database holding `api_token`. */
  dataSource: DataSource;
  /** Where revocations are announced, under `redisPrefix`. */
  redis: Redis;
  redisPrefix: string;
}

/**
 * API tokens and roles. Imported once by the process entry, which decides where the tokens live;
 * global so that the GraphQL module's auth reaches the service too. The connections stay inside:
 * other libraries get ApiTokenService.
 */
@Module({})
export class AccessModule {
  static forRoot(connections: AccessConnections): DynamicModule {
    return {
      module: AccessModule,
      global: true,
      providers: [
        { provide: API_TOKEN_DATA_SOURCE, useValue: connections.dataSource },
        { provide: API_TOKEN_REDIS, useValue: connections.redis },
        { provide: API_TOKEN_REDIS_KEYS, useValue: new RedisKeys(connections.redisPrefix) },
        ApiTokenService,
      ],
      exports: [ApiTokenService],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';

/** The database holding `api_token`, and the Redis on which revocations are announced. */
export const API_TOKEN_DATA_SOURCE = Symbol('API_TOKEN_DATA_SOURCE');
export const API_TOKEN_REDIS = Symbol('API_TOKEN_REDIS');

/**
 * Gives the token service its connections. Imported once by the process entry, which decides
 * where the tokens live; global so that the GraphQL module's auth reaches them too.
 */
@Module({})
export class ApiTokenConnectionsModule {
  static forRoot(connections: { dataSource: DataSource; redis: Redis }): DynamicModule {
    return {
      module: ApiTokenConnectionsModule,
      global: true,
      providers: [
        { provide: API_TOKEN_DATA_SOURCE, useValue: connections.dataSource },
        { provide: API_TOKEN_REDIS, useValue: connections.redis },
      ],
      exports: [API_TOKEN_DATA_SOURCE, API_TOKEN_REDIS],
    };
  }
}

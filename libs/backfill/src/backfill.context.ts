import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, DomainConfig, EnvConfig } from '@app/config';
import { ProjectionConnections, ProjectionModule } from '@app/projection';
import { BackfillModule } from './backfill.module';
import { BackfillDatabaseModule } from './database/backfill.database';
import { LegacyEnv } from './legacy/legacy-source.factory';

@Module({})
class BackfillContextModule {}

export interface BackfillContextOptions {
  env: EnvConfig;
  domain: DomainConfig;
  /** Open connections to the statusview database (the projection's tables and backfill's) and Redis; the context does not close them. */
  connections: ProjectionConnections;
  legacyEnv: LegacyEnv;
}

/** A Nest context (no HTTP) holding the projection and the backfill use cases, for the CLI and tests. */
export function createBackfillContext(options: BackfillContextOptions): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    {
      module: BackfillContextModule,
      imports: [
        ConfigModule.forRoot({ env: options.env, domain: options.domain }),
        ProjectionModule.forRoot(options.connections),
        BackfillDatabaseModule.forRoot(options.connections.dataSource),
        BackfillModule.forRoot({ legacyEnv: options.legacyEnv }),
      ],
    },
    // Nest's own log lines would mix with the CLI's output (and its JSON).
    { logger: ['error'], abortOnError: false },
  );
}

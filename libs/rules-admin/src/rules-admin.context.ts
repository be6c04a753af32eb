import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { INestApplicationContext } from '@nestjs/common';
import { ConfigModule, DomainConfig, EnvConfig } from '@app/config';
import { ProjectionConnections, ProjectionModule } from '@app/projection';
import { RulesAdminModule } from './rules-admin.module';

@Module({})
class RulesAdminContextModule {}

/** The rules use cases without HTTP, for the CLI: the same code GraphQL calls. */
export function createRulesAdminContext(options: { env: EnvConfig; domain: DomainConfig; connections: ProjectionConnections }): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    {
      module: RulesAdminContextModule,
      imports: [
        ConfigModule.forRoot({ env: options.env, domain: options.domain }),
        ProjectionModule.forRoot(options.connections),
        RulesAdminModule,
      ],
    },
    { logger: ['error'], abortOnError: false },
  );
}

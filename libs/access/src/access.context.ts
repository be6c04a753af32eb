import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AccessConnections, AccessModule } from './access.module';

@Module({})
class AccessContextModule {}

/** The token use cases without HTTP, for the CLI: the same code GraphQL calls. */
export function createAccessContext(options: { connections: AccessConnections }): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    { module: AccessContextModule, imports: [AccessModule.forRoot(options.connections)] },
    { logger: ['error'], abortOnError: false },
  );
}

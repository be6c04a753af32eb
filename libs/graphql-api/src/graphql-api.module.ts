import { Logger, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { CustomerReader, ProjectionQueries } from '@app/projection';
import { CustomerIdNormalizer } from './customers/customer-id.normalizer';
import { CustomerLoaders, GraphqlContext } from './customers/customer.loaders';
import { CustomerFieldsResolver, CustomerQueryResolver } from './customers/customer.resolver';
import { SCHEMA_GLOB } from './generate-types';
import { queryCostLimit } from './limits/query-cost.rule';
import { requestTiming } from './limits/request-timing.hooks';
import { FastifyRequest } from 'fastify';
import { ApiTokenService, RulesAdminModule } from '@app/rules-admin';
import { authenticate } from './auth/request-auth';
import { ReconcileGraphqlModule } from '@app/backfill';
import { RolesGuard } from './auth/roles.guard';
import { graphqlErrorFormatter } from './errors/graphql-errors';
import { GraphqlExceptionFilter } from './errors/graphql-exception.filter';
import { RuleSetResolver } from './rules/rule-set.resolver';
import { StatusChangeFanout } from './subscriptions/status-change.fanout';
import { StatusChangeResolver } from './subscriptions/status-change.resolver';

/** GraphQL at /graphql: schema-first from `schema/`, Mercurius with its JIT, depth and cost limits. */
@Module({
  imports: [
    RulesAdminModule,
    ReconcileGraphqlModule.forRoot({ roleGuard: RolesGuard }),
    GraphQLModule.forRootAsync<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      imports: [RulesAdminModule],
      inject: [ENV_CONFIG, CustomerReader, ProjectionQueries, ApiTokenService],
      useFactory: (env: EnvConfig, reader: CustomerReader, queries: ProjectionQueries, tokens: ApiTokenService) => ({
        typePaths: [SCHEMA_GLOB],
        path: '/graphql',
        graphiql: true,
        jit: 1,
        queryDepth: env.graphql.maxDepth,
        errorFormatter: graphqlErrorFormatter(new Logger('graphql'), env.graphql.maxTokens),
        hooks: { preExecution: [queryCostLimit(env.graphql.maxCost), requestTiming.preExecution], onResolution: requestTiming.onResolution },
        subscription: {
          // graphql-ws (graphql-transport-ws) and the legacy subscriptions-transport-ws protocol.
          onConnect: async ({ payload }: { payload?: { authorization?: string } }) => ({
            auth: await authenticate(typeof payload?.authorization === 'string' ? payload.authorization : undefined, tokens),
          }),
        },
        context: async (request: FastifyRequest): Promise<GraphqlContext> => ({
          loaders: new CustomerLoaders(reader, queries),
          auth: await authenticate(request.headers.authorization, tokens),
        }),
      }),
    }),
  ],
  providers: [
    CustomerIdNormalizer,
    CustomerQueryResolver,
    CustomerFieldsResolver,
    RuleSetResolver,
    RolesGuard,
    StatusChangeResolver,
    StatusChangeFanout,
    { provide: APP_FILTER, useClass: GraphqlExceptionFilter },
  ],
})
export class GraphqlApiModule {}

import { Logger, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import type { WebSocket } from 'ws';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { CustomerReader, ProjectionQueries } from '@app/projection';
import { CustomerIdNormalizer } from './customers/customer-id.normalizer';
import { CustomerLoaders, GraphqlContext } from './customers/customer.loaders';
import { CustomerFieldsResolver, CustomerQueryResolver } from './customers/customer.resolver';
import { SCHEMA_GLOB } from './generate-types';
import { queryCostLimit } from './limits/query-cost.rule';
import { MAX_VALIDATION_ERRORS, queryLengthLimit, subscriptionLimits, textDocumentsOnly } from './limits/query-size.hooks';
import { requestTiming } from './limits/request-timing.hooks';
import { queryDepthLimit } from './limits/query-depth.rule';
import { FastifyRequest } from 'fastify';
import { ApiTokenService } from '@app/access';
import { ReconcileReportsModule } from '@app/backfill';
import { RulesAdminModule } from '@app/rules-admin';
import { authenticate } from './auth/request-auth';
import { RolesGuard } from './auth/roles.guard';
import { TokenRevocationWatch } from './auth/token-revocation.watch';
import { graphqlErrorFormatter } from './errors/graphql-errors';
import { GraphqlExceptionFilter } from './errors/graphql-exception.filter';
import { RuleSetResolver } from './rules/rule-set.resolver';
import { ConsoleResolver } from './console/console.resolver';
import { ReconcileQueryResolver, ReconcileReportFieldsResolver } from './reconcile/reconcile-report.resolver';
import { StatusChangeFanout } from './subscriptions/status-change.fanout';
import { StatusChangeResolver } from './subscriptions/status-change.resolver';

/** Subscriptions one connection may start (Mercurius keeps each until the connection closes). */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;

/**
 * GraphQL at /graphql: schema-first from `schema/`, Mercurius with its JIT, and a limit on each
 * thing a request can ask for (see docs/design.md): query length and tokens, depth, cost, ids,
 * page sizes; errors with codes, logged once per request.
 */
@Module({
  imports: [
    RulesAdminModule,
    ReconcileReportsModule,
    GraphQLModule.forRootAsync<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      inject: [ENV_CONFIG, CustomerReader, ProjectionQueries, ApiTokenService],
      useFactory: (env: EnvConfig, reader: CustomerReader, queries: ProjectionQueries, tokens: ApiTokenService) => {
        const limits = env.graphql;
        const cost = queryCostLimit(limits.maxCost);
        const timing = requestTiming(limits.metricOperations);
        const subscriptions = subscriptionLimits({ maxLength: limits.maxQueryLength, maxTokens: limits.maxTokens, maxPerConnection: MAX_SUBSCRIPTIONS_PER_CONNECTION });
        return {
          typePaths: [SCHEMA_GLOB],
          path: '/graphql',
          // GraphiQL is served from this machine's files (console/console.routes.ts), not a CDN.
          graphiql: false,
          jit: 1,
          // Valid and invalid documents are cached apart, each up to twice this many entries
          // (quick-lru's two generations): with the length and token limits, this bounds memory.
          cache: limits.documentCache,
          graphql: { parseOptions: { maxTokens: limits.maxTokens }, validateOptions: { maxErrors: MAX_VALIDATION_ERRORS } },
          validationRules: [queryDepthLimit(limits.maxDepth)],
          errorFormatter: graphqlErrorFormatter(new Logger('graphql'), limits.maxTokens),
          hooks: {
            preParsing: [queryLengthLimit(limits.maxQueryLength)],
            preValidation: [textDocumentsOnly],
            preExecution: [
              (schema, document, context, variables) => {
                cost(schema, document, context, variables);
                timing.preExecution(schema, document, context);
              },
            ],
            onResolution: timing.onResolution,
            preSubscriptionParsing: subscriptions.preSubscriptionParsing,
            preSubscriptionExecution: subscriptions.preSubscriptionExecution,
            onSubscriptionEnd: subscriptions.onSubscriptionEnd,
          },
          subscription: {
            // The socket, so that a revoked token's connections can be closed (TokenRevocationWatch).
            context: (socket: WebSocket) => ({ socket }),
            // graphql-ws (graphql-transport-ws) and the legacy subscriptions-transport-ws protocol.
            onConnect: async ({ payload }: { payload?: { authorization?: string } }) => ({
              auth: await authenticate(typeof payload?.authorization === 'string' ? payload.authorization : undefined, tokens),
            }),
          },
          context: async (request: FastifyRequest): Promise<GraphqlContext> => ({
            loaders: new CustomerLoaders(reader, queries),
            auth: await authenticate(request.headers.authorization, tokens),
          }),
        };
      },
    }),
  ],
  providers: [
    CustomerIdNormalizer,
    CustomerQueryResolver,
    CustomerFieldsResolver,
    RuleSetResolver,
    ConsoleResolver,
    ReconcileQueryResolver,
    ReconcileReportFieldsResolver,
    RolesGuard,
    StatusChangeResolver,
    StatusChangeFanout,
    TokenRevocationWatch,
    { provide: APP_FILTER, useClass: GraphqlExceptionFilter },
  ],
})
export class GraphqlApiModule {}

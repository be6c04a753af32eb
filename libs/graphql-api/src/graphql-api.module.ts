import { Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { CustomerReader, ProjectionQueries } from '@app/projection';
import { CustomerIdNormalizer } from './customers/customer-id.normalizer';
import { CustomerLoaders, GraphqlContext } from './customers/customer.loaders';
import { CustomerFieldsResolver, CustomerQueryResolver } from './customers/customer.resolver';
import { SCHEMA_GLOB } from './generate-types';
import { queryCostLimit } from './limits/query-cost.rule';

/** GraphQL at /graphql: schema-first from `schema/`, Mercurius with its JIT, depth and cost limits. */
@Module({
  imports: [
    GraphQLModule.forRootAsync<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      inject: [ENV_CONFIG, CustomerReader, ProjectionQueries],
      useFactory: (env: EnvConfig, reader: CustomerReader, queries: ProjectionQueries) => ({
        typePaths: [SCHEMA_GLOB],
        path: '/graphql',
        graphiql: true,
        jit: 1,
        queryDepth: env.graphql.maxDepth,
        hooks: { preExecution: queryCostLimit(env.graphql.maxCost) },
        context: (): GraphqlContext => ({ loaders: new CustomerLoaders(reader, queries) }),
      }),
    }),
  ],
  providers: [CustomerIdNormalizer, CustomerQueryResolver, CustomerFieldsResolver],
})
export class GraphqlApiModule {}

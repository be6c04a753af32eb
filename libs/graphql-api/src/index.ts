export * from './graphql-api.module';
export * from './generated/graphql';

export * from './graphql-api.module';
export * from './generated/graphql';
export { registerConsoleRoutes, CONSOLE_DIR } from './console/console.routes';

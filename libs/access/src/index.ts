export * from './access.errors';
export * from './roles';
export * from './principal';
export * from './access.module';
export * from './access.context';
export * from './tokens/api-token.service';

export * from './config.errors';
export * from './env/env.config';
export * from './env/url-redaction';
export * from './domain/sources.model';
export * from './domain/domain-config.loader';
export * from './config.module';
export * from './project-root';

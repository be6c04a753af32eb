import { Global, Module } from '@nestjs/common';
import { loadEnvConfig, EnvConfig } from './env/env.config';
import { DomainConfig, loadDomainConfig } from './domain/domain-config.loader';

/** Injection tokens for the two validated configurations. */
export const ENV_CONFIG = Symbol('ENV_CONFIG');
export const DOMAIN_CONFIG = Symbol('DOMAIN_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  /** Loads once; tests pass their own values. */
  static forRoot(options: { env?: EnvConfig; domain?: DomainConfig } = {}) {
    const env = options.env ?? loadEnvConfig();
    const domain = options.domain ?? loadDomainConfig(env.configDir, { directSystems: env.cdc.directSystems });
    return {
      module: ConfigModule,
      providers: [
        { provide: ENV_CONFIG, useValue: env },
        { provide: DOMAIN_CONFIG, useValue: domain },
      ],
      exports: [ENV_CONFIG, DOMAIN_CONFIG],
    };
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DOMAIN_CONFIG, DomainConfig, SourceSystem } from '@app/config';
import { BackfillError } from '../backfill.errors';
import { LegacySource } from './legacy-source';
import { MysqlLegacySource } from './mysql-legacy.source';
import { PostgresLegacySource } from './postgres-legacy.source';

/** The environment the legacy connection URLs are read from (the variable names come from sources.yaml). */
export const LEGACY_ENV = Symbol('LEGACY_ENV');
export type LegacyEnv = Readonly<Record<string, string | undefined>>;

/** Opens a system's legacy table through its read-only connection from the sources configuration. */
@Injectable()
export class LegacySourceFactory {
  constructor(
    @Inject(DOMAIN_CONFIG) private readonly domain: DomainConfig,
    @Inject(LEGACY_ENV) private readonly env: LegacyEnv,
  ) {}

  /** Every system that has a connection, in configuration order (what `--all` means). */
  connectedSystems(): string[] {
    return this.domain.sources.systems.filter((s) => s.connection).map((s) => s.name);
  }

  system(name: string): SourceSystem {
    const system = this.domain.sources.systems.find((s) => s.name === name);
    if (!system) {
      const known = this.domain.sources.systems.map((s) => s.name).join(', ');
      throw new BackfillError('UNKNOWN_SYSTEM', `unknown system "${name}"; the sources configuration has: ${known}`);
    }
    return system;
  }

  async open(name: string): Promise<LegacySource> {
    const system = this.system(name);
    const connection = system.connection;
    if (!connection) {
      throw new BackfillError('NO_CONNECTION', `${name}: the sources configuration gives no connection (systems.${name}.connection) to read it from`);
    }
    const url = this.env[connection.urlEnv];
    if (!url) throw new BackfillError('URL_MISSING', `${name}: set ${connection.urlEnv} to a read-only ${connection.dialect} URL of the legacy database`);
    switch (connection.dialect) {
      case 'postgres':
        return PostgresLegacySource.open(system, url, connection.urlEnv);
      case 'mysql':
        return MysqlLegacySource.open(system, url, connection.urlEnv);
    }
  }
}

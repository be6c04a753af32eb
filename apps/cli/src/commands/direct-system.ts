import { DomainConfig, OperatorError, SourceSystem } from '@app/config';

/**
 * The system named on a direct-* command's line and its connection URL, or an OperatorError
 * saying what is wrong: no such system, another kind of database (`other` says where its
 * position is kept instead), the URL's variable not set.
 */
export function directSystem(domain: DomainConfig, name: string, dialect: 'postgres' | 'mysql', other: Partial<Record<'postgres' | 'mysql', string>>): { system: SourceSystem; url: string } {
  const system = domain.sources.systems.find((s) => s.name === name);
  if (!system) throw new OperatorError(`no system "${name}" in sources.yaml (there are: ${domain.sources.systems.map((s) => s.name).join(', ')})`);
  const actual = system.connection?.dialect;
  if (actual !== dialect) {
    const what = dialect === 'postgres' ? 'a PostgreSQL database' : 'a MySQL/MariaDB database';
    throw new OperatorError(`system ${name} is not ${what}: ${(actual && other[actual]) ?? 'it has no connection in sources.yaml'}`);
  }
  const url = process.env[system.connection!.urlEnv];
  if (!url) throw new OperatorError(`${system.connection!.urlEnv} (the connection URL of system ${name}) is not set`);
  return { system, url };
}

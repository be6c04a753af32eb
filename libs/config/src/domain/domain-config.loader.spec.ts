import { ConfigError } from '../config.errors';
import { loadDomainConfig } from './domain-config.loader';

describe('loadDomainConfig with CDC_DIRECT_SYSTEMS', () => {
  const changes = (directSystems: string[]) => Object.fromEntries(loadDomainConfig('config', { directSystems }).sources.systems.map((s) => [s.name, s.changes]));

  it('reads the named systems directly and leaves the others as the file says', () => {
    expect(changes([])).toEqual({ crm: 'debezium', billing: 'debezium', portal: 'debezium' });
    expect(changes(['crm', 'billing'])).toEqual({ crm: 'direct', billing: 'direct', portal: 'debezium' });
  });

  it('refuses a name the sources do not have, with the name', () => {
    expect(() => loadDomainConfig('config', { directSystems: ['crm', 'ledger'] })).toThrow(ConfigError);
    expect(() => loadDomainConfig('config', { directSystems: ['ledger'] })).toThrow(/CDC_DIRECT_SYSTEMS: .*sources\.yaml has no system ledger/);
  });
});

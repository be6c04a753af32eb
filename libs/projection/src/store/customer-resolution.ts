import { Inject, Injectable, Logger } from '@nestjs/common';
import { normalizeRow } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig, FieldType } from '@app/config';
import { CompiledRuleSet, MappingResult, Resolution } from '@app/rules';
import { LiveRecordRow } from './customer-view.builder';

/**
 * How a customer is resolved from its stored records, in one place for the writers (the store)
 * and for the projection's self-check (verify), so that both decide alike.
 */
@Injectable()
export class CustomerResolution {
  private readonly logger = new Logger('projection');
  private readonly fields: Map<string, Record<string, FieldType>>;

  constructor(@Inject(DOMAIN_CONFIG) domain: DomainConfig) {
    this.fields = new Map(domain.sources.systems.map((s) => [s.name, s.fields]));
  }

  /**
   * A stored record mapped again under `compiled`; undefined when the rule set has no table for
   * its system or cannot map it: the record then keeps its last mapping rather than failing.
   */
  remap(r: Pick<LiveRecordRow, 'system' | 'record_key' | 'raw'>, compiled: CompiledRuleSet, now: number): MappingResult | undefined {
    if (!compiled.hasSystem(r.system)) return undefined;
    try {
      return compiled.map(r.system, normalizeRow(this.fields.get(r.system) ?? {}, JSON.parse(r.raw) as Record<string, unknown>), now);
    } catch (e) {
      this.logger.warn(`cannot map stored record ${r.system}/${r.record_key}: ${(e as Error).message}`);
      return undefined;
    }
  }
}

/** The resolution of one customer from its records' mapped statuses (one mask per system). */
export function decider(compiled: CompiledRuleSet): (records: ReadonlyArray<{ system: string; status: string | null }>) => Resolution {
  const masks = new Int32Array(compiled.systems.length);
  return (records) => {
    masks.fill(0);
    for (const r of records) {
      const s = compiled.systemIndex(r.system);
      if (s !== undefined && r.status !== null) masks[s] |= 1 << compiled.statusIndex(r.status);
    }
    return compiled.resolve(masks);
  };
}

import { CompiledRuleSet } from '@app/rules';
import { Explanation } from '../generated/graphql';
import { CustomerModel } from './customer.mapper';

/**
 * Why a customer has its status, from what was stored when it was last evaluated: per record the
 * mapping rule with the raw values of its table's inputs, and the deciding resolution rule, all
 * from the rule set version that evaluated it.
 */
export function explain(customer: CustomerModel, compiled: CompiledRuleSet, version: number): Explanation {
  const { ruleSet } = compiled;
  const resolution = ruleSet.resolution.rules.find((r) => r.id === customer.reason);
  return {
    ruleSetVersion: version,
    sources: customer.sources.map((s) => {
      const table = ruleSet.mappings.find((m) => m.system === s.system);
      const rule = table?.rules.find((r) => r.id === s.rule);
      const raw = JSON.parse(s.raw) as Record<string, unknown>;
      return {
        system: s.system,
        recordKey: s.recordKey,
        status: s.status,
        rule: s.rule,
        description: rule?.description ?? '(rule not in this version)',
        inputs: (table?.inputs ?? []).map((i) => ({ field: i.name, value: JSON.stringify(raw[i.name] ?? null) })),
      };
    }),
    resolution: { rule: customer.reason, description: resolution?.description ?? '(rule not in this version)', status: customer.status },
  };
}

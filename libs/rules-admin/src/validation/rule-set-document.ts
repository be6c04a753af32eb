import { parse, stringify } from 'yaml';
import { RulesAdminError } from '../rules-admin.errors';

/** Reads a rule set sent as YAML or JSON text (YAML is a superset of JSON). */
export function parseRuleSetText(text: string): unknown {
  try {
    return parse(text);
  } catch (e) {
    throw new RulesAdminError('BAD_DOCUMENT', `the rule set cannot be parsed: ${(e as Error).message.split('\n')[0]}`, [
      { path: '(root)', message: `cannot be parsed: ${(e as Error).message.split('\n')[0]}`, severity: 'error' },
    ]);
  }
}

export function toYaml(document: unknown): string {
  return stringify(document, { lineWidth: 120 });
}

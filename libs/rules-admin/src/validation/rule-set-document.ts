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

const ORDER = ['statuses', 'mappings', 'resolution', 'examples'];

/** YAML in the order analysts read a rule set (PostgreSQL's jsonb does not keep key order). */
export function toYaml(document: unknown): string {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return stringify(document, { lineWidth: 120 });
  const d = document as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const k of ORDER) if (k in d) ordered[k] = d[k];
  for (const [k, v] of Object.entries(d)) if (!(k in ordered)) ordered[k] = v;
  return stringify(ordered, { lineWidth: 120 });
}

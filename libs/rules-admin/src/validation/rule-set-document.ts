import { parse, stringify } from 'yaml';
import { RULE_SET_LIMITS } from '@app/rules';
import { RulesAdminError } from '../rules-admin.errors';

/** Refuses a document larger than a rule set may be, before anything reads it. */
export function checkDocumentSize(bytes: number, what = 'the rule set document'): void {
  const max = RULE_SET_LIMITS.documentBytes;
  if (bytes <= max) return;
  const message = `${what} is ${bytes} bytes; a rule set is at most ${max} bytes (${max / 1024} KiB) of YAML or JSON`;
  throw new RulesAdminError('BAD_DOCUMENT', message, [{ path: '(root)', message, severity: 'error' }]);
}

/** Reads a rule set sent as YAML or JSON text (YAML is a superset of JSON), at most `RULE_SET_LIMITS.documentBytes`. */
export function parseRuleSetText(text: string): unknown {
  checkDocumentSize(Buffer.byteLength(text, 'utf8'));
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

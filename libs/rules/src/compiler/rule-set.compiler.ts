import { createHash } from 'node:crypto';
import { KnownSources, parseRuleSet } from '../model/rule-set.parser';
import { Problem, RuleSet } from '../model/rule-set.model';
import { RuleEvaluationError, RuleSetInvalidError } from '../rules.errors';
import { CompiledRuleSet } from './compiled-rule-set';

/** Parses, checks and compiles a rule set document; throws with every problem if it has errors. */
export function compileRuleSet(raw: unknown, known?: KnownSources, source?: string): CompiledRuleSet {
  const { ruleSet, problems } = parseRuleSet(raw, known);
  if (!ruleSet) throw new RuleSetInvalidError(problems, source);
  return new CompiledRuleSet(ruleSet);
}

/** Runs the rule set's own examples; each failure is a problem at the example's path. */
export function runExamples(compiled: CompiledRuleSet, ruleSet: RuleSet = compiled.ruleSet, now = Date.now()): Problem[] {
  const problems: Problem[] = [];
  ruleSet.examples.mappings.forEach((ex, i) => {
    const path = `examples.mappings[${i}]`;
    try {
      const got = compiled.map(ex.system, ex.raw, now);
      if (got.status !== ex.expect.status || (ex.expect.rule !== undefined && got.rule !== ex.expect.rule)) {
        problems.push({
          path,
          severity: 'error',
          message: `${ex.system} ${JSON.stringify(ex.raw)} should map to ${ex.expect.status}${ex.expect.rule ? ` by ${ex.expect.rule}` : ''} but maps to ${got.status} by ${got.rule}`,
        });
      }
    } catch (e) {
      problems.push({ path, severity: 'error', message: e instanceof RuleEvaluationError ? e.message : String(e) });
    }
  });
  ruleSet.examples.resolution.forEach((ex, i) => {
    const path = `examples.resolution[${i}]`;
    try {
      const got = compiled.resolveStatuses(ex.systems);
      if (got.status !== ex.expect.status || (ex.expect.reason !== undefined && got.reason !== ex.expect.reason)) {
        problems.push({
          path,
          severity: 'error',
          message: `${JSON.stringify(ex.systems)} should resolve to ${ex.expect.status}${ex.expect.reason ? ` by ${ex.expect.reason}` : ''} but resolves to ${got.status} by ${got.reason}`,
        });
      }
    } catch (e) {
      problems.push({ path, severity: 'error', message: e instanceof RuleEvaluationError ? e.message : String(e) });
    }
  });
  return problems;
}

/** A stable checksum of a rule set document: key order does not matter, content does. */
export function ruleSetChecksum(raw: unknown): string {
  return createHash('sha256').update(canonicalJson(raw)).digest('hex');
}

/** JSON with object keys sorted, so that equal content compares equal whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

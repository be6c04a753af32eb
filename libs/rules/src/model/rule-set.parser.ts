import { formatPath } from './path';
import {
  Cell,
  Condition,
  InputDef,
  MappingTable,
  Problem,
  ResolutionTable,
  RuleSet,
  Scalar,
  SystemTest,
} from './rule-set.model';
import { RULE_SET_LIMITS, statusNameProblem } from './rule-set.limits';
import { RuleSetFile, ruleSetFileSchema } from './rule-set.schema';

/** Systems and their fields as the sources configuration defines them, to check references against. */
export type KnownSources = Record<string, readonly string[]>;

export interface ParseOptions {
  /**
   * A version stored before: only what evaluating it needs is checked, not the limits on new
   * rule sets (`RULE_SET_LIMITS`), so that a version accepted earlier still loads (and can be
   * rolled back from). Validation, drafts and publishing check everything.
   */
  stored?: boolean;
}

export interface ParseResult {
  ruleSet?: RuleSet;
  problems: Problem[];
}

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|seconds?|minutes?|hours?|days?|weeks?)\s*$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  const key = unit === 'ms' ? 'ms' : unit.startsWith('w') ? 'w' : unit[0];
  return Number(m[1]) * UNIT_MS[key];
}

/**
 * Reads a rule set document (already parsed from YAML/JSON) into the typed model, collecting every
 * problem with its path instead of stopping at the first. A rule set with any error has no model.
 */
export function parseRuleSet(raw: unknown, known?: KnownSources, options: ParseOptions = {}): ParseResult {
  const parsed = ruleSetFileSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message, severity: 'error' })),
    };
  }
  const reader = new RuleSetReader(parsed.data, known, !options.stored);
  const ruleSet = reader.read();
  const hasErrors = reader.problems.some((p) => p.severity === 'error');
  return { ruleSet: hasErrors ? undefined : ruleSet, problems: reader.problems };
}

class RuleSetReader {
  readonly problems: Problem[] = [];
  private readonly statuses: Set<string>;

  constructor(
    private readonly file: RuleSetFile,
    private readonly known: KnownSources | undefined,
    /** Apply the limits on new rule sets (see `ParseOptions.stored`). */
    private readonly limited: boolean,
  ) {
    this.statuses = new Set(file.statuses);
  }

  read(): RuleSet {
    const seen = new Set<string>();
    this.file.statuses.forEach((s, i) => {
      if (seen.has(s)) this.error(['statuses', i], `status "${s}" is listed twice`);
      seen.add(s);
    });
    // Every rule set: resolution keeps one bit per status in a 32-bit mask per system.
    if (this.file.statuses.length > RULE_SET_LIMITS.statuses) {
      this.error(
        ['statuses'],
        `at most ${RULE_SET_LIMITS.statuses} canonical statuses (resolution keeps one bit per status in a 32-bit mask per system); this vocabulary has ${this.file.statuses.length}`,
      );
    }
    if (this.limited) this.checkLimits();
    const mappings = Object.entries(this.file.mappings).map(([system, table]) => this.readMapping(system, table));
    const resolution = this.readResolution(mappings.map((m) => m.system));
    this.checkExamples(mappings);
    return { statuses: [...this.file.statuses], mappings, resolution, examples: this.file.examples };
  }

  private readMapping(system: string, table: RuleSetFile['mappings'][string]): MappingTable {
    const base: PropertyKey[] = ['mappings', system];
    const knownFields = this.known?.[system];
    if (this.known && !knownFields) {
      this.error(base, `no source defines a system "${system}" (known: ${Object.keys(this.known).join(', ')})`);
    }
    const inputs: InputDef[] = Object.entries(table.inputs).map(([name, def]) => {
      if (knownFields && !knownFields.includes(name)) {
        this.error([...base, 'inputs', name], `system "${system}" has no field "${name}" in the sources configuration`);
      }
      def.allowed?.forEach((v, i) => this.checkScalarType(v, def.type, [...base, 'inputs', name, 'allowed', i]));
      return { name, type: def.type, allowed: def.allowed };
    });
    const byName = new Map(inputs.map((i) => [i.name, i]));
    if (table.unmappedInput !== undefined && !byName.has(table.unmappedInput)) {
      this.error([...base, 'unmappedInput'], `"${table.unmappedInput}" is not one of this table's inputs`);
    }
    const ids = new Set<string>();
    const rules = table.rules.map((rule, r) => {
      const path = [...base, 'rules', r];
      this.checkId(ids, rule.id, [...path, 'id']);
      this.checkStatus(rule.then, [...path, 'then']);
      const when: Record<string, Cell> = {};
      for (const [field, rawCell] of Object.entries(rule.when)) {
        const input = byName.get(field);
        if (!input) {
          this.error([...path, 'when', field], `"${field}" is not an input of the ${system} table (inputs: ${[...byName.keys()].join(', ') || 'none'})`);
          continue;
        }
        const cell = this.readCell(rawCell, input, [...path, 'when', field]);
        if (cell && cell.kind !== 'any') when[field] = cell;
      }
      if (rule.fallback && Object.keys(when).length > 0) {
        this.error([...path, 'fallback'], 'a fallback rule must not have conditions');
      }
      return { id: rule.id, description: rule.description, when, then: rule.then, fallback: rule.fallback };
    });
    return { system, hitPolicy: table.hitPolicy, inputs, unmappedInput: table.unmappedInput, rules };
  }

  private readCell(raw: unknown, input: InputDef, path: PropertyKey[]): Cell | undefined {
    if (raw === null) return { kind: 'isNull' };
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      if (Array.isArray(raw)) return this.readCell({ in: raw }, input, path);
      return this.scalarCell('equals', raw, input, path);
    }
    const entries = Object.entries(raw as Record<string, unknown>);
    if (entries.length !== 1) {
      this.error(path, 'a cell has exactly one operator, e.g. { in: [A, B] } or { olderThan: "30d" }');
      return undefined;
    }
    const [op, value] = entries[0];
    const p = [...path, op];
    switch (op) {
      case 'any':
        return { kind: 'any' };
      case 'equals':
        return this.scalarCell('equals', value, input, p);
      case 'in':
      case 'notIn': {
        if (!Array.isArray(value) || value.length === 0) {
          this.error(p, `"${op}" takes a non-empty list of values`);
          return undefined;
        }
        const values = value.map((v, i) => this.scalar(v, input, [...p, i]));
        if (values.some((v) => v === undefined)) return undefined;
        return { kind: op, values: values as Scalar[] };
      }
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte': {
        const v = this.ordered(value, input, p);
        return v === undefined ? undefined : { kind: 'compare', op, value: v };
      }
      case 'between': {
        if (!Array.isArray(value) || value.length !== 2) {
          this.error(p, '"between" takes two values: [low, high]');
          return undefined;
        }
        const low = this.ordered(value[0], input, [...p, 0]);
        const high = this.ordered(value[1], input, [...p, 1]);
        if (low === undefined || high === undefined) return undefined;
        if (orderValue(low, input) > orderValue(high, input)) this.error(p, `"between" low ${low} is above high ${high}`);
        return { kind: 'between', low, high };
      }
      case 'isNull':
      case 'isSet':
        if (value !== true) this.error(p, `write "${op}: true"`);
        return { kind: op };
      case 'olderThan':
      case 'newerThan': {
        if (input.type !== 'date') {
          this.error(p, `"${op}" needs a date input, but "${input.name}" is ${input.type}`);
          return undefined;
        }
        const ms = typeof value === 'string' ? parseDuration(value) : undefined;
        if (ms === undefined) {
          this.error(p, `"${String(value)}" is not a duration such as "30d", "12h" or "90 days"`);
          return undefined;
        }
        return { kind: op, ms, text: value as string };
      }
      default:
        this.error(p, `unknown operator "${op}" (use any, equals, in, notIn, lt, lte, gt, gte, between, isNull, isSet, olderThan, newerThan)`);
        return undefined;
    }
  }

  private scalarCell(kind: 'equals', raw: unknown, input: InputDef, path: PropertyKey[]): Cell | undefined {
    const value = this.scalar(raw, input, path);
    return value === undefined ? undefined : { kind, value };
  }

  private scalar(raw: unknown, input: InputDef, path: PropertyKey[]): Scalar | undefined {
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      this.error(path, `expected a ${input.type} value`);
      return undefined;
    }
    if (!this.checkScalarType(raw, input.type, path)) return undefined;
    if (input.allowed && !input.allowed.includes(raw)) {
      this.problems.push({
        path: formatPath(path),
        message: `${JSON.stringify(raw)} is not an allowed value of "${input.name}" (${input.allowed.map((a) => JSON.stringify(a)).join(', ')})`,
        severity: 'warning',
      });
    }
    return raw;
  }

  private ordered(raw: unknown, input: InputDef, path: PropertyKey[]): number | string | undefined {
    if (input.type === 'number' && typeof raw === 'number') return raw;
    if (input.type === 'date' && typeof raw === 'string' && !Number.isNaN(Date.parse(raw))) return raw;
    if (input.type === 'string' && typeof raw === 'string') return raw;
    this.error(path, `expected a ${input.type === 'date' ? 'ISO-8601 date' : input.type} to compare "${input.name}" with`);
    return undefined;
  }

  private checkScalarType(value: Scalar, type: InputDef['type'], path: PropertyKey[]): boolean {
    const ok =
      (type === 'string' && typeof value === 'string') ||
      (type === 'number' && typeof value === 'number') ||
      (type === 'boolean' && typeof value === 'boolean') ||
      (type === 'date' && typeof value === 'string' && !Number.isNaN(Date.parse(value)));
    if (!ok) this.error(path, `${JSON.stringify(value)} is not a ${type}`);
    return ok;
  }

  private readResolution(systems: string[]): ResolutionTable {
    const ids = new Set<string>();
    const rules = this.file.resolution.rules.map((rule, r) => {
      const path: PropertyKey[] = ['resolution', 'rules', r];
      this.checkId(ids, rule.id, [...path, 'id']);
      this.checkStatus(rule.then, [...path, 'then']);
      const when = this.readCondition(rule.when, systems, [...path, 'when'], 1);
      if (rule.fallback && when.kind !== 'always') this.error([...path, 'fallback'], 'a fallback rule must not have conditions');
      return { id: rule.id, description: rule.description, when, then: rule.then, fallback: rule.fallback };
    });
    return { hitPolicy: this.file.resolution.hitPolicy, rules };
  }

  private readCondition(raw: Record<string, unknown>, systems: string[], path: PropertyKey[], depth: number): Condition {
    const parts: Condition[] = [];
    for (const [key, value] of Object.entries(raw)) {
      const p = [...path, key];
      if (key === 'anyOf' || key === 'allOf') {
        if (!Array.isArray(value) || value.length === 0) {
          this.error(p, `"${key}" takes a non-empty list of conditions`);
          continue;
        }
        if (this.limited && depth >= RULE_SET_LIMITS.conditionDepth) {
          this.error(p, `conditions nest at most ${RULE_SET_LIMITS.conditionDepth} levels deep (anyOf / allOf inside each other)`);
          continue;
        }
        const conditions = value.map((c, i) => {
          if (typeof c !== 'object' || c === null || Array.isArray(c)) {
            this.error([...p, i], 'expected a condition such as { crm: CLOSED }');
            return { kind: 'always' } as Condition;
          }
          return this.readCondition(c as Record<string, unknown>, systems, [...p, i], depth + 1);
        });
        parts.push({ kind: key, conditions });
      } else if (key === 'anySystem') {
        const statuses = this.statusList(value, p);
        if (statuses) parts.push({ kind: 'anySystem', statuses });
      } else {
        if (!systems.includes(key)) {
          this.error(p, `"${key}" is not a system with a mapping table (systems: ${systems.join(', ')})`);
          continue;
        }
        const test = this.systemTest(value, p);
        if (test) parts.push({ kind: 'system', system: key, test });
      }
    }
    if (parts.length === 0) return { kind: 'always' };
    return parts.length === 1 ? parts[0] : { kind: 'allOf', conditions: parts };
  }

  private systemTest(raw: unknown, path: PropertyKey[]): SystemTest | undefined {
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      const entries = Object.entries(raw as Record<string, unknown>);
      if (entries.length === 1) {
        const [op, value] = entries[0];
        if (op === 'absent' && value === true) return { kind: 'absent' };
        if (op === 'present' && value === true) return { kind: 'present' };
        if (op === 'in' || op === 'equals') {
          const statuses = this.statusList(value, [...path, op]);
          return statuses ? { kind: 'has', statuses } : undefined;
        }
      }
      this.error(path, 'a system cell is a status, a list of statuses, { in: [...] }, { absent: true } or { present: true }');
      return undefined;
    }
    const statuses = this.statusList(raw, path);
    return statuses ? { kind: 'has', statuses } : undefined;
  }

  private statusList(raw: unknown, path: PropertyKey[]): string[] | undefined {
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || list.some((s) => typeof s !== 'string')) {
      this.error(path, 'expected a status or a list of statuses');
      return undefined;
    }
    list.forEach((s, i) => this.checkStatus(s as string, Array.isArray(raw) ? [...path, i] : path));
    return list as string[];
  }

  /** The limits on new rule sets, each at its path (`RULE_SET_LIMITS`). */
  private checkLimits(): void {
    const L = RULE_SET_LIMITS;
    this.file.statuses.forEach((s, i) => {
      const problem = statusNameProblem(s);
      if (problem) this.error(['statuses', i], problem);
    });
    const count = (path: PropertyKey[], n: number, max: number, what: string) => {
      if (n > max) this.error(path, `at most ${max} ${what}; this has ${n}`);
    };
    const rules = (path: PropertyKey[], list: ReadonlyArray<{ id: string; description: string }>) => {
      count([...path], list.length, L.rulesPerTable, 'rules in a table');
      list.forEach((r, i) => {
        if (r.id.length > L.idLength) this.error([...path, i, 'id'], `a rule id is at most ${L.idLength} characters; this one is ${r.id.length}`);
        if (r.description.length > L.descriptionLength) {
          this.error([...path, i, 'description'], `a description is at most ${L.descriptionLength} characters; this one is ${r.description.length}`);
        }
      });
    };
    const tables = Object.entries(this.file.mappings);
    count(['mappings'], tables.length, L.tables, 'mapping tables');
    for (const [system, table] of tables) {
      count(['mappings', system, 'inputs'], Object.keys(table.inputs).length, L.inputsPerTable, 'inputs in a mapping table');
      rules(['mappings', system, 'rules'], table.rules);
    }
    rules(['resolution', 'rules'], this.file.resolution.rules);
    count(['examples', 'mappings'], this.file.examples.mappings.length, L.examples, 'mapping examples');
    count(['examples', 'resolution'], this.file.examples.resolution.length, L.examples, 'resolution examples');
  }

  private checkExamples(mappings: MappingTable[]): void {
    const systems = new Set(mappings.map((m) => m.system));
    this.file.examples.mappings.forEach((ex, i) => {
      const path = ['examples', 'mappings', i];
      if (!systems.has(ex.system)) this.error([...path, 'system'], `"${ex.system}" has no mapping table`);
      this.checkStatus(ex.expect.status, [...path, 'expect', 'status']);
    });
    this.file.examples.resolution.forEach((ex, i) => {
      const path = ['examples', 'resolution', i];
      for (const [system, statuses] of Object.entries(ex.systems)) {
        if (!systems.has(system)) this.error([...path, 'systems', system], `"${system}" has no mapping table`);
        statuses.forEach((s, j) => this.checkStatus(s, [...path, 'systems', system, j]));
      }
      this.checkStatus(ex.expect.status, [...path, 'expect', 'status']);
    });
  }

  private checkId(ids: Set<string>, id: string, path: PropertyKey[]): void {
    if (ids.has(id)) this.error(path, `rule id "${id}" is used twice in this table`);
    ids.add(id);
  }

  private checkStatus(status: string, path: PropertyKey[]): void {
    if (!this.statuses.has(status)) {
      this.error(path, `"${status}" is not a canonical status (${[...this.statuses].join(', ')})`);
    }
  }

  private error(path: PropertyKey[], message: string): void {
    this.problems.push({ path: formatPath(path), message, severity: 'error' });
  }
}

function orderValue(v: number | string, input: InputDef): number | string {
  return input.type === 'date' && typeof v === 'string' ? Date.parse(v) : v;
}

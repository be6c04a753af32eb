import { compileMaskCondition } from './mask-condition.compiler';
import { MappingTable, ResolutionTable, RuleSet } from '../model/rule-set.model';
import { RULE_SET_LIMITS } from '../model/rule-set.limits';
import { RuleEvaluationError, RuleSetInvalidError } from '../rules.errors';
import { compileCell, normalizer } from './cell.compiler';

export interface MappingResult {
  status: string;
  /** Index of `status` in the rule set's priority order. */
  statusIndex: number;
  /** Id of the mapping rule that decided. */
  rule: string;
  /** Set when a fallback rule decided: the raw value that no rule mapped. */
  unmapped?: { field: string; value: string };
}

export interface Resolution {
  status: string;
  /** Id of the resolution rule that decided. */
  reason: string;
}

export type Mapper = (row: Readonly<Record<string, unknown>>, now: number) => MappingResult;

/**
 * A rule set compiled once into plain functions. Per customer, the resolution input is one bit
 * mask per system (bit i = some live record of that system maps to status i; 0 = no record).
 */
export class CompiledRuleSet {
  readonly statuses: readonly string[];
  readonly systems: readonly string[];
  private readonly statusIndexes: Map<string, number>;
  private readonly systemIndexes: Map<string, number>;
  private readonly mappers: Map<string, Mapper>;
  private readonly resolver: (masks: ArrayLike<number>) => Resolution;

  constructor(readonly ruleSet: RuleSet) {
    // The parser refuses more already; a model built another way must not wrap bits either.
    if (ruleSet.statuses.length > RULE_SET_LIMITS.statuses) {
      throw new RuleSetInvalidError([
        { path: 'statuses', severity: 'error', message: `at most ${RULE_SET_LIMITS.statuses} canonical statuses; this vocabulary has ${ruleSet.statuses.length}` },
      ]);
    }
    this.statuses = ruleSet.statuses;
    this.systems = ruleSet.mappings.map((m) => m.system);
    this.statusIndexes = new Map(this.statuses.map((s, i) => [s, i]));
    this.systemIndexes = new Map(this.systems.map((s, i) => [s, i]));
    this.mappers = new Map(ruleSet.mappings.map((m) => [m.system, this.compileMapping(m)]));
    this.resolver = this.compileResolution(ruleSet.resolution);
  }

  statusIndex(status: string): number {
    const i = this.statusIndexes.get(status);
    if (i === undefined) throw new RuleEvaluationError(`"${status}" is not a status of this rule set`);
    return i;
  }

  systemIndex(system: string): number | undefined {
    return this.systemIndexes.get(system);
  }

  hasSystem(system: string): boolean {
    return this.mappers.has(system);
  }

  mapper(system: string): Mapper {
    const mapper = this.mappers.get(system);
    if (!mapper) throw new RuleEvaluationError(`the rule set has no mapping table for system "${system}"`);
    return mapper;
  }

  map(system: string, row: Readonly<Record<string, unknown>>, now = Date.now()): MappingResult {
    return this.mapper(system)(row, now);
  }

  /** `masks[systemIndex]` holds the status bits of that system's live records for one customer. */
  resolve(masks: ArrayLike<number>): Resolution {
    return this.resolver(masks);
  }

  /** Convenience over `resolve` for examples and tests: `{ crm: ['ACTIVE'], billing: [] }`. */
  resolveStatuses(bySystem: Readonly<Record<string, readonly string[]>>): Resolution {
    const masks = new Int32Array(this.systems.length);
    for (const [system, statuses] of Object.entries(bySystem)) {
      const i = this.systemIndexes.get(system);
      if (i === undefined) throw new RuleEvaluationError(`the rule set has no system "${system}"`);
      for (const s of statuses) masks[i] |= 1 << this.statusIndex(s);
    }
    return this.resolve(masks);
  }

  private compileMapping(table: MappingTable): Mapper {
    const inputs = table.inputs.map((input) => ({ name: input.name, normalize: normalizer(input.type) }));
    const types = new Map(table.inputs.map((i) => [i.name, i.type]));
    const rules = table.rules.map((rule) => {
      const tests = Object.entries(rule.when).map(([field, cell]) => ({
        slot: inputs.findIndex((i) => i.name === field),
        test: compileCell(cell, types.get(field) ?? 'string'),
      }));
      const statusIndex = this.statusIndex(rule.then);
      const unmappedField = rule.fallback ? table.unmappedInput : undefined;
      return { id: rule.id, status: rule.then, statusIndex, tests, unmappedField };
    });
    const priority = table.hitPolicy === 'PRIORITY';
    const system = table.system;
    const slots = inputs.length;

    return (row, now) => {
      const values = new Array<unknown>(slots);
      for (let i = 0; i < slots; i++) values[i] = inputs[i].normalize(row[inputs[i].name]);
      let best: (typeof rules)[number] | undefined;
      for (const rule of rules) {
        let hit = true;
        for (const t of rule.tests) {
          if (!t.test(values[t.slot], now)) {
            hit = false;
            break;
          }
        }
        if (!hit) continue;
        if (!priority) {
          best = rule;
          break;
        }
        if (!best || rule.statusIndex < best.statusIndex) best = rule;
      }
      if (!best) throw new RuleEvaluationError(`no rule of the ${system} mapping table matched and it has no fallback`);
      const result: MappingResult = { status: best.status, statusIndex: best.statusIndex, rule: best.id };
      if (best.unmappedField !== undefined) {
        const raw = row[best.unmappedField];
        result.unmapped = { field: best.unmappedField, value: raw === null || raw === undefined ? 'null' : String(raw) };
      }
      return result;
    };
  }

  private compileResolution(table: ResolutionTable): (masks: ArrayLike<number>) => Resolution {
    const layout = { systemIndex: (system: string) => this.systemIndexes.get(system), bits: (statuses: readonly string[]) => this.bits(statuses), systemCount: this.systems.length };
    const rules = table.rules.map((r) => ({
      test: compileMaskCondition(r.when, layout),
      result: { status: r.then, reason: r.id } as Resolution,
      statusIndex: this.statusIndex(r.then),
    }));
    const priority = table.hitPolicy === 'PRIORITY';
    return (masks) => {
      let best: (typeof rules)[number] | undefined;
      for (const rule of rules) {
        if (!rule.test(masks)) continue;
        if (!priority) return rule.result;
        if (!best || rule.statusIndex < best.statusIndex) best = rule;
      }
      if (!best) throw new RuleEvaluationError('no resolution rule matched and the table has no fallback');
      return best.result;
    };
  }

  private bits(statuses: readonly string[]): number {
    return statuses.reduce((acc, s) => acc | (1 << this.statusIndex(s)), 0);
  }
}

import { compileMaskCondition } from '../compiler/mask-condition.compiler';
import { CellTest, compileCell, normalizer } from '../compiler/cell.compiler';
import { formatPath } from '../model/path';
import { Cell, Condition, InputDef, MappingTable, Problem, RuleSet, Scalar, Severity } from '../model/rule-set.model';

/**
 * Static analysis of a validated rule set, for what an analyst should fix before publishing: rules
 * that can never fire, overlaps a UNIQUE table forbids, inputs that no rule covers, and rules
 * without an example. Pure: no I/O; the evaluation time for relative dates is passed in.
 *
 * Claims are exhaustive, not sampled: each table is evaluated, with the same compiled cells and
 * the same hit-policy semantics as `CompiledRuleSet`, on a finite set of inputs that provably
 * stands for all of them (see `representativeValues` and `ResolutionTableAnalysis`). A table whose
 * set is larger than `maxCombinations` is not checked for reachability and gaps, and a warning
 * says so.
 */
export interface RuleSetAnalysisOptions {
  /** Evaluation time (epoch ms) for `olderThan` / `newerThan` cells; defaults to now. */
  now?: number;
  /** Most input combinations evaluated per table (default 200,000). */
  maxCombinations?: number;
}

const DEFAULT_MAX_COMBINATIONS = 200_000;
const LISTED_EXAMPLES = 3;
const LISTED_RULES = 5;
const DAY_MS = 86_400_000;
const UNIQUE_ADVICE = 'Make their conditions exclusive, or use the FIRST or PRIORITY hit policy.';

export function analyzeRuleSet(ruleSet: RuleSet, options: RuleSetAnalysisOptions = {}): Problem[] {
  const context: Context = {
    ruleSet,
    now: options.now ?? Date.now(),
    maxCombinations: options.maxCombinations ?? DEFAULT_MAX_COMBINATIONS,
    statusIndexes: new Map(ruleSet.statuses.map((s, i) => [s, i])),
  };
  return [
    ...ruleSet.mappings.flatMap((table) => new MappingTableAnalysis(table, context).problems()),
    ...new ResolutionTableAnalysis(context).problems(),
  ];
}

interface Context {
  ruleSet: RuleSet;
  now: number;
  maxCombinations: number;
  statusIndexes: Map<string, number>;
}

// ---------------------------------------------------------------------------------------------
// Exploring a table: every combination of a finite domain, under the table's hit policy.
// ---------------------------------------------------------------------------------------------

interface RankedRule {
  id: string;
  then: string;
  /** Index of `then` in the priority order: what PRIORITY compares. */
  statusIndex: number;
  fallback: boolean;
}

interface Exploration {
  /** The first combination on which each rule matches / is the one that decides. */
  firstMatch: Array<Int32Array | undefined>;
  firstDecided: Array<Int32Array | undefined>;
  /** Per rule, the rules that decide the combinations it matches but does not decide. */
  coveredBy: Array<Set<number>>;
  /** Combinations that no rule matches. */
  gaps: number;
}

interface ExploreOptions {
  skip?: (combo: Int32Array) => boolean;
  prepare?: (combo: Int32Array) => void;
  visit?: (combo: Int32Array, decider: number, matching: readonly number[]) => void;
}

function ranked(rule: { id: string; then: string; fallback: boolean }, context: Context): RankedRule {
  const statusIndex = context.statusIndexes.get(rule.then) ?? context.ruleSet.statuses.length;
  return { id: rule.id, then: rule.then, fallback: rule.fallback, statusIndex };
}

/** Calls `visit` with every `combo` such that `0 ≤ combo[i] < sizes[i]` (the array is reused). */
function forEachCombination(sizes: readonly number[], visit: (combo: Int32Array) => void): void {
  if (sizes.some((s) => s === 0)) return;
  const combo = new Int32Array(sizes.length);
  for (;;) {
    visit(combo);
    let i = sizes.length - 1;
    while (i >= 0 && ++combo[i] === sizes[i]) combo[i--] = 0;
    if (i < 0) return;
  }
}

function combinationCount(sizes: readonly number[]): number {
  return sizes.reduce((n, s) => n * s, 1);
}

/** The rule that decides among the matching ones (in table order), as `CompiledRuleSet` picks it; -1 = none. */
function decide(matching: readonly number[], rules: readonly RankedRule[], priority: boolean): number {
  if (matching.length === 0) return -1;
  let best = matching[0];
  if (priority) for (const r of matching) if (rules[r].statusIndex < rules[best].statusIndex) best = r;
  return best;
}

function explore(
  sizes: readonly number[],
  rules: readonly RankedRule[],
  priority: boolean,
  matches: (rule: number, combo: Int32Array) => boolean,
  options: ExploreOptions = {},
): Exploration {
  const result: Exploration = {
    firstMatch: rules.map(() => undefined),
    firstDecided: rules.map(() => undefined),
    coveredBy: rules.map(() => new Set<number>()),
    gaps: 0,
  };
  const matching: number[] = [];
  forEachCombination(sizes, (combo) => {
    if (options.skip?.(combo)) return;
    options.prepare?.(combo);
    matching.length = 0;
    for (let r = 0; r < rules.length; r++) {
      if (!matches(r, combo)) continue;
      matching.push(r);
      result.firstMatch[r] ??= combo.slice();
    }
    const decider = decide(matching, rules, priority);
    if (decider < 0) result.gaps++;
    else {
      result.firstDecided[decider] ??= combo.slice();
      for (const r of matching) if (r !== decider) result.coveredBy[r].add(decider);
    }
    options.visit?.(combo, decider, matching);
  });
  return result;
}

/** Problems of one table, grouped by rule so they read in the table's order. */
class TableReport {
  private readonly byRule: Problem[][];
  private readonly others: Problem[] = [];
  /** Rules already reported as never firing (no point asking for an example of them). */
  readonly dead = new Set<number>();

  constructor(
    private readonly base: PropertyKey[],
    ruleCount: number,
  ) {
    this.byRule = Array.from({ length: ruleCount }, () => []);
  }

  rule(r: number, severity: Severity, message: string): void {
    this.byRule[r].push({ path: formatPath([...this.base, 'rules', r]), severity, message });
  }

  at(path: PropertyKey[], severity: Severity, message: string): void {
    this.others.push({ path: formatPath([...this.base, ...path]), severity, message });
  }

  problems(): Problem[] {
    return [...this.byRule.flat(), ...this.others];
  }
}

/** Whether rule `a` wins over rule `b` when both match, as `decide` picks. */
function outranks(a: number, b: number, rules: readonly RankedRule[], priority: boolean): boolean {
  if (!priority) return a < b;
  return rules[a].statusIndex < rules[b].statusIndex || (rules[a].statusIndex === rules[b].statusIndex && a < b);
}

interface Cover {
  rules: number[];
  /** The rules only cover it together; otherwise each of them alone does. */
  jointly: boolean;
}

/**
 * Why each of `dead` (rules that match somewhere but never decide) never decides: the rules that
 * outrank it and match wherever it matches, when there are any (each alone explains it), else all
 * the rules that decide where it matches. `rerun` explores the same table again.
 */
function covers(
  dead: readonly number[],
  exploration: Exploration,
  rules: readonly RankedRule[],
  priority: boolean,
  rerun: (visit: (matching: readonly number[]) => void) => void,
): Map<number, Cover> {
  const always = new Map<number, Set<number> | undefined>(dead.map((r) => [r, undefined]));
  rerun((matching) => {
    for (const r of matching) {
      if (!always.has(r)) continue;
      const common = always.get(r);
      if (!common) always.set(r, new Set(matching.filter((e) => outranks(e, r, rules, priority))));
      else for (const e of common) if (!matching.includes(e)) common.delete(e);
    }
  });
  const sorted = (set: Set<number>) => [...set].sort((x, y) => x - y);
  return new Map(
    dead.map((r) => {
      const alone = always.get(r);
      return [r, alone && alone.size > 0 ? { rules: sorted(alone), jointly: false } : { rules: sorted(exploration.coveredBy[r]), jointly: true }];
    }),
  );
}

function unreachableMessage(
  rule: RankedRule,
  cover: Cover,
  rules: readonly RankedRule[],
  priority: boolean,
  subject: 'record' | 'customer',
  when = '',
): string {
  const listed = cover.rules.slice(0, LISTED_RULES).map((c) => rules[c]);
  const more = cover.rules.length > listed.length ? ` and ${cover.rules.length - listed.length} more` : '';
  const single = cover.rules.length === 1;
  if (!priority) {
    const who = single ? 'the earlier rule' : cover.jointly ? 'one of the earlier rules' : 'each of the earlier rules';
    return `rule ${rule.id} can never fire${when}: every ${subject} it matches is already matched by ${who} ${listed.map((c) => c.id).join(', ')}${more}. Delete it, or move it above ${single ? 'that rule' : 'them'} if it should take precedence`;
  }
  const why = (c: RankedRule) =>
    c.statusIndex < rule.statusIndex ? `${c.then} comes before ${rule.then} in statuses` : 'same priority, listed earlier';
  const who = single
    ? `${listed[0].id} matches too and wins (${why(listed[0])})`
    : `${cover.jointly ? 'one of these rules' : 'each of these rules'} matches too and wins: ${listed.map((c) => `${c.id} (${why(c)})`).join(', ')}${more}`;
  return `rule ${rule.id} can never be the chosen one${when}: wherever it matches, ${who}. Delete it, or change its output or the conditions`;
}

// ---------------------------------------------------------------------------------------------
// Mapping tables
// ---------------------------------------------------------------------------------------------

interface MappingRuleUnderTest extends RankedRule {
  tests: Array<{ slot: number; test: CellTest; relative: boolean }>;
  /** Uses `olderThan` / `newerThan`: what it matches depends on the evaluation time. */
  relative: boolean;
}

interface InputDomain {
  input: InputDef;
  /** Whether some rule has a cell on this input; if none has, one value stands for all. */
  referenced: boolean;
  /** Representative values, normalized as the mapper normalizes raw fields. */
  values: unknown[];
}

const isRelative = (cell: Cell): boolean => cell.kind === 'olderThan' || cell.kind === 'newerThan';
const isOrdered = (cell: Cell): boolean => cell.kind === 'compare' || cell.kind === 'between' || isRelative(cell);

class MappingTableAnalysis {
  private readonly system: string;
  private readonly priority: boolean;
  private readonly rules: MappingRuleUnderTest[];
  private readonly domains: InputDomain[];
  /** `sat[r][slot][i]`: rule r's cell on that input holds for the input's i-th value (undefined: no cell). */
  private readonly sat: Array<Array<Uint8Array | undefined>>;
  private readonly report: TableReport;
  /** Appended to claims that hold at the evaluation time only. */
  private readonly atTime: string;

  constructor(
    private readonly table: MappingTable,
    private readonly context: Context,
  ) {
    const { now } = context;
    this.system = table.system;
    this.priority = table.hitPolicy === 'PRIORITY';
    this.report = new TableReport(['mappings', table.system], table.rules.length);
    const slots = new Map(table.inputs.map((input, slot) => [input.name, slot]));
    this.rules = table.rules.map((rule) => {
      const tests = Object.entries(rule.when).flatMap(([field, cell]) => {
        const slot = slots.get(field);
        return slot === undefined ? [] : [{ slot, test: compileCell(cell, table.inputs[slot].type), relative: isRelative(cell) }];
      });
      return { ...ranked(rule, context), tests, relative: tests.some((t) => t.relative) };
    });
    this.domains = table.inputs.map((input) => {
      const cells = table.rules.flatMap((rule) => (rule.when[input.name] ? [rule.when[input.name]] : []));
      return { input, referenced: cells.length > 0, values: cells.length > 0 ? representativeValues(input, cells, now) : [null] };
    });
    this.sat = this.rules.map((rule) => {
      const row = new Array<Uint8Array | undefined>(this.domains.length);
      for (const t of rule.tests) row[t.slot] = Uint8Array.from(this.domains[t.slot].values, (v) => (t.test(v, now) ? 1 : 0));
      return row;
    });
    this.atTime = this.rules.some((r) => r.relative) ? ` at the evaluation time ${new Date(now).toISOString()}` : '';
  }

  problems(): Problem[] {
    const impossible = this.checkImpossibleRules();
    const overlapping = this.table.hitPolicy === 'UNIQUE' ? this.checkOverlaps(impossible) : new Set<number>();
    const sizes = this.domains.map((d) => d.values.length);
    const count = combinationCount(sizes);
    let exploration: Exploration | undefined;
    if (count > this.context.maxCombinations) {
      this.report.at(
        [],
        'warning',
        `the ${this.system} table has ${count} combinations of input values to check, more than the limit of ${this.context.maxCombinations}, so it was not checked for rules that can never fire, for gaps or for allowed values that no rule maps.`,
      );
    } else {
      exploration = this.checkCoverage(sizes, overlapping);
    }
    this.checkExamples(exploration);
    return this.report.problems();
  }

  private readonly matches = (r: number, combo: Int32Array): boolean => {
    for (const t of this.rules[r].tests) if (this.sat[r][t.slot]?.[combo[t.slot]] !== 1) return false;
    return true;
  };

  /** A rule whose cell on some input holds for no value matches nothing (exact: every class of values is represented). */
  private checkImpossibleRules(): Set<number> {
    const impossible = new Set<number>();
    this.rules.forEach((rule, r) => {
      const tests = rule.tests.filter((t) => !this.sat[r][t.slot]?.includes(1));
      if (tests.length === 0) return;
      impossible.add(r);
      this.report.dead.add(r);
      const relative = tests.some((t) => t.relative);
      const names = tests.map((t) => `${this.system}.${this.table.inputs[t.slot].name}`).join(' and ');
      this.report.rule(
        r,
        relative ? 'warning' : 'error',
        `rule ${rule.id} can never fire${relative ? this.atTime : ''}: no value of ${names} satisfies its condition. Fix the condition or delete the rule.`,
      );
    });
    return impossible;
  }

  /**
   * Rows are products of per-input conditions, so two rows overlap exactly when, on every input,
   * some value satisfies both cells. A fallback row is the table's default, not a row that overlaps.
   */
  private checkOverlaps(impossible: ReadonlySet<number>): Set<number> {
    const overlapping = new Set<number>();
    const { rules, sat } = this;
    for (let b = 0; b < rules.length; b++) {
      for (let a = 0; a < b; a++) {
        if (rules[a].fallback || rules[b].fallback || impossible.has(a) || impossible.has(b)) continue;
        const combo = new Int32Array(this.domains.length);
        const both = this.domains.every((d, slot) => {
          combo[slot] = d.values.findIndex((_, i) => sat[a][slot]?.[i] !== 0 && sat[b][slot]?.[i] !== 0);
          return combo[slot] >= 0;
        });
        if (!both) continue;
        overlapping.add(b);
        const example = this.showCombo(combo, (slot) => sat[a][slot] !== undefined || sat[b][slot] !== undefined);
        const when = rules[a].relative || rules[b].relative ? this.atTime : '';
        this.report.rule(
          b,
          'error',
          `rules ${rules[a].id} and ${rules[b].id} overlap: both match ${example}${when}, but the UNIQUE hit policy allows at most one matching row. ${UNIQUE_ADVICE}`,
        );
      }
    }
    return overlapping;
  }

  /** Rules that never decide, values of typed inputs that no rule maps, and inputs no rule matches. */
  private checkCoverage(sizes: number[], overlapping: ReadonlySet<number>): Exploration {
    const { rules, domains } = this;
    // Per input value: some non-fallback rule matches it / decides it; the fallback that decides it.
    const matchedByRule = domains.map((d) => new Uint8Array(d.values.length));
    const decidedByRule = domains.map((d) => new Uint8Array(d.values.length));
    const decidedByFallback = domains.map((d) => new Int32Array(d.values.length).fill(-1));
    const exploration = explore(sizes, rules, this.priority, this.matches, {
      visit: (combo, decider, matching) => {
        if (decider < 0) return;
        const byFallback = rules[decider].fallback;
        const byRule = matching.some((r) => !rules[r].fallback);
        for (let slot = 0; slot < combo.length; slot++) {
          const i = combo[slot];
          if (byRule) matchedByRule[slot][i] = 1;
          if (!byFallback) decidedByRule[slot][i] = 1;
          else if (decidedByFallback[slot][i] < 0) decidedByFallback[slot][i] = decider;
        }
      },
    });

    // A fallback that never fires only means the rows above it cover every value of the declared
    // types; it still catches wrongly typed values, so it is no problem. Under UNIQUE, a row covered
    // by others overlaps them, which is reported already.
    const dead = rules.flatMap((rule, r) =>
      exploration.firstDecided[r] || rule.fallback || this.report.dead.has(r) || overlapping.has(r) ? [] : [r],
    );
    const why = covers(dead, exploration, rules, this.priority, (visit) =>
      explore(sizes, rules, this.priority, this.matches, { visit: (_combo, _decider, matching) => visit(matching) }),
    );
    for (const [r, cover] of why) {
      const relative = rules[r].relative || cover.rules.some((c) => rules[c].relative);
      this.report.dead.add(r);
      this.report.rule(
        r,
        relative ? 'warning' : 'error',
        `${unreachableMessage(rules[r], cover, rules, this.priority, 'record', relative ? this.atTime : '')}.`,
      );
    }

    // An allowed value (or a boolean) that no rule but the fallback maps, or no rule at all. A value
    // that some row matches but never decides is left out: that row can never fire, as reported.
    const uncovered = domains.map(() => new Set<number>());
    domains.forEach((d, slot) => {
      const checked: Scalar[] = d.input.allowed ?? (d.input.type === 'boolean' ? [true, false] : []);
      const normalize = normalizer(d.input.type);
      for (const value of checked) {
        const i = d.referenced ? d.values.indexOf(normalize(value)) : 0;
        if (i < 0 || decidedByRule[slot][i] === 1 || matchedByRule[slot][i] === 1) continue;
        const what = `${d.input.allowed ? 'allowed value' : 'value'} ${showScalar(value)} of ${this.system}.${d.input.name}`;
        const fallback = decidedByFallback[slot][i];
        if (fallback >= 0) {
          this.report.at(
            ['inputs', d.input.name],
            'warning',
            `${what} is only covered by the fallback ${rules[fallback].id} (mapped to ${rules[fallback].then})${this.atTime}. Add a rule that maps it to a status.`,
          );
        } else {
          uncovered[slot].add(i);
          this.report.at(
            ['inputs', d.input.name],
            'error',
            `${what} is not matched by any rule${this.atTime}, and the table has no fallback row, so mapping a record with ${d.input.name} ${showScalar(value)} fails. Add a rule for it or a fallback row.`,
          );
        }
      }
    });

    // Any other input that no row matches: mapping it would throw.
    if (exploration.gaps > 0) {
      const examples: string[] = [];
      let others = 0;
      explore(sizes, rules, this.priority, this.matches, {
        skip: (combo) => domains.some((_, slot) => uncovered[slot].has(combo[slot])),
        visit: (combo, decider) => {
          if (decider >= 0) return;
          if (examples.length < LISTED_EXAMPLES) examples.push(this.showCombo(combo));
          else others++;
        },
      });
      if (examples.length > 0) {
        const more = others > 0 ? ` (nor ${others} other kinds of record)` : '';
        this.report.at(
          [],
          'error',
          `no rule of the ${this.system} table matches ${examples.join(', nor ')}${more}${this.atTime}, and the table has no fallback row, so mapping such a record fails. Add rules for them or a fallback row.`,
        );
      }
    }
    return exploration;
  }

  /** Rule tests: a rule is exercised by an example that names it, or, naming none, that it decides. */
  private checkExamples(exploration: Exploration | undefined): void {
    const { rules, table, system } = this;
    const normalizers = table.inputs.map((input) => normalizer(input.type));
    const exampled = new Set<string>();
    for (const example of this.context.ruleSet.examples.mappings) {
      if (example.system !== system) continue;
      if (example.expect.rule !== undefined) {
        exampled.add(example.expect.rule);
        continue;
      }
      const values = table.inputs.map((input, slot) => normalizers[slot](example.raw[input.name]));
      const matching = rules.flatMap((rule, r) => (rule.tests.every((t) => t.test(values[t.slot], this.context.now)) ? [r] : []));
      const decider = decide(matching, rules, this.priority);
      if (decider >= 0) exampled.add(rules[decider].id);
    }
    rules.forEach((rule, r) => {
      if (exampled.has(rule.id) || this.report.dead.has(r)) return;
      const combo = exploration?.firstDecided[r];
      const raw = combo ? this.showCombo(combo) : '';
      const suggestion = combo
        ? `, e.g. { system: ${showScalar(system)}, raw: ${raw === 'any record' ? '{}' : raw}, expect: { status: ${showScalar(rule.then)}, rule: ${showScalar(rule.id)} } }`
        : '';
      this.report.rule(r, 'warning', `rule ${rule.id} has no example in examples.mappings. Add one${suggestion}.`);
    });
  }

  /** A combination as a record of raw field values; inputs no rule reads are left out (any value does). */
  private showCombo(combo: Int32Array, shown: (slot: number) => boolean = () => true): string {
    const fields = this.domains.flatMap((d, slot) =>
      d.referenced && shown(slot) ? [`${showScalar(d.input.name)}: ${showInputValue(d.values[combo[slot]], d.input)}`] : [],
    );
    return fields.length === 0 ? 'any record' : `{ ${fields.join(', ')} }`;
  }
}

/**
 * A finite set of values of one input that stands for all of them. Every cell compares the
 * (normalized) value with constants only, so between two neighbouring constants of an input, each
 * cell of each rule gives one answer. The constants, one value inside each interval between them
 * (and below the lowest and above the highest), and null therefore reach every outcome of every
 * row. Without ordered cells (comparisons, ranges, relative dates), all values that are not a
 * constant behave alike and one of them stands for all. Relative dates are constants at `now`.
 *
 * Assumes values of the declared type or null, as the decoder delivers them: a wrongly typed raw
 * value (e.g. "abc" for a number) is outside the analysis.
 */
function representativeValues(input: InputDef, cells: readonly Cell[], now: number): unknown[] {
  const normalize = normalizer(input.type);
  const raw: Scalar[] = [...(input.allowed ?? [])];
  for (const cell of cells) {
    switch (cell.kind) {
      case 'equals':
        raw.push(cell.value);
        break;
      case 'in':
      case 'notIn':
        raw.push(...cell.values);
        break;
      case 'compare':
        raw.push(cell.value);
        break;
      case 'between':
        raw.push(cell.low, cell.high);
        break;
      case 'olderThan':
      case 'newerThan':
        raw.push(now - cell.ms);
        break;
      case 'any':
      case 'isNull':
      case 'isSet':
        break;
    }
  }
  const ordered = cells.some(isOrdered);
  let values: unknown[];
  switch (input.type) {
    case 'boolean':
      values = [true, false];
      break;
    case 'number':
    case 'date': {
      const constants = uniqueSorted(raw.map(normalize).filter((v): v is number => typeof v === 'number' && !Number.isNaN(v)));
      values = ordered ? withNumericGaps(constants, input.type, now) : [...constants, otherNumber(constants, input.type === 'date' ? now : 0)];
      break;
    }
    case 'string': {
      const constants = uniqueSorted(raw.map(normalize).filter((v): v is string => typeof v === 'string'));
      values = ordered ? withStringGaps(constants) : [...constants, otherString(constants)];
      break;
    }
  }
  // Allowed values first, in the order declared: they make the most natural examples.
  return [...new Set([...(input.allowed ?? []).map(normalize), ...values, null])];
}

function uniqueSorted<T extends number | string>(values: T[]): T[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function withNumericGaps(constants: readonly number[], type: 'number' | 'date', now: number): number[] {
  if (constants.length === 0) return [type === 'date' ? now : 0];
  const step = type === 'date' ? DAY_MS : 1;
  const out = [constants[0] - step];
  constants.forEach((c, i) => {
    out.push(c);
    if (i === constants.length - 1) {
      out.push(c + step);
      return;
    }
    const next = constants[i + 1];
    // A whole number (or whole millisecond) reads best; any value strictly inside will do.
    const whole = type === 'number' ? Math.floor(c) + 1 : Math.round((c + next) / 2);
    const inside = whole > c && whole < next ? whole : (c + next) / 2;
    if (inside > c && inside < next) out.push(inside);
  });
  return out;
}

function withStringGaps(constants: readonly string[]): string[] {
  const out: string[] = constants.length === 0 || constants[0] === '' ? [] : [''];
  constants.forEach((c, i) => {
    out.push(c);
    const next = constants[i + 1];
    const inside = [`${c}_OTHER`, `${c} `, `${c}\u0000`].find((s) => next === undefined || s < next);
    if (inside !== undefined) out.push(inside);
  });
  return out.length === 0 ? ['OTHER'] : out;
}

function otherNumber(constants: readonly number[], start: number): number {
  let n = start;
  while (constants.includes(n)) n++;
  return n;
}

function otherString(constants: readonly string[]): string {
  let s = 'OTHER';
  for (let i = 2; constants.includes(s); i++) s = `OTHER_${i}`;
  return s;
}

// ---------------------------------------------------------------------------------------------
// The resolution table
// ---------------------------------------------------------------------------------------------

interface ResolutionRuleUnderTest extends RankedRule {
  test: (masks: Int32Array) => boolean;
  /** Per system: at most how many of its statuses one AND-branch of the condition tests for. */
  need: number[];
}

interface MaskDomain {
  /** Per system, the status masks to try (0: no live record). */
  families: number[][];
  exploration: Exploration;
}

/**
 * The resolution input of a customer is one bit mask per system (bit i: some live record maps to
 * status i; 0: no live record), and a customer with no live record at all is never resolved. Only
 * statuses that a system's mapping table outputs can show in its mask.
 *
 * Why few statuses per system suffice: conditions combine `has`, `anySystem` and `present` (which
 * stay true when a system shows more statuses) and `absent` (which depends on emptiness only) with
 * AND and OR, never NOT. Take masks on which rule r matches and the rules that outrank it do not
 * (or on which no rule matches: a gap). Shrink each non-empty system to the statuses that one
 * satisfied AND-branch of r tests for there, or to any one of its statuses if it tests for none:
 * r still matches, no system changes emptiness, and the other rules can only turn false. So masks
 * with at most `need` statuses per system (at least 1) reach every rule that can fire and every
 * gap. Singletons suffice for usual tables; they do not for `allOf: [{ crm: A }, { crm: B }]`,
 * which needs pairs for crm, nor for UNIQUE overlap checks, which need two rows' needs summed.
 */
class ResolutionTableAnalysis {
  private readonly systems: string[];
  private readonly systemIndexes: Map<string, number>;
  private readonly statuses: readonly string[];
  private readonly priority: boolean;
  private readonly unique: boolean;
  private readonly rules: ResolutionRuleUnderTest[];
  /** Per system: how many statuses its masks hold at most. */
  private readonly maxStatuses: number[];
  /** Per system: the statuses its mapping table outputs, as a mask. */
  private readonly outputs: number[];
  private readonly report: TableReport;

  constructor(private readonly context: Context) {
    const { ruleSet } = context;
    const table = ruleSet.resolution;
    this.systems = ruleSet.mappings.map((m) => m.system);
    this.systemIndexes = new Map(this.systems.map((s, i) => [s, i]));
    this.statuses = ruleSet.statuses;
    this.priority = table.hitPolicy === 'PRIORITY';
    this.unique = table.hitPolicy === 'UNIQUE';
    this.report = new TableReport(['resolution'], table.rules.length);
    const layout = { systemIndex: (system: string) => this.systemIndexes.get(system), bits: (statuses: readonly string[]) => this.bits(statuses), systemCount: this.systems.length };
    this.rules = table.rules.map((rule) => ({ ...ranked(rule, context), test: compileMaskCondition(rule.when, layout), need: this.need(rule.when) }));
    this.maxStatuses = this.systems.map((_, i) => {
      const needs = this.rules
        .filter((r) => !r.fallback)
        .map((r) => r.need[i])
        .sort((a, b) => b - a);
      return Math.max(1, this.unique ? (needs[0] ?? 0) + (needs[1] ?? 0) : (needs[0] ?? 0));
    });
    this.outputs = ruleSet.mappings.map((m) => this.bits(m.rules.map((r) => r.then)));
  }

  problems(): Problem[] {
    const overlaps = new Map<string, Int32Array>();
    const domain = this.explore(this.outputs, (masks, _decider, matching) => {
      if (!this.unique) return;
      const rows = matching.filter((r) => !this.rules[r].fallback);
      for (let b = 1; b < rows.length; b++) {
        for (let a = 0; a < b; a++) if (!overlaps.has(`${rows[a]}:${rows[b]}`)) overlaps.set(`${rows[a]}:${rows[b]}`, masks.slice());
      }
    });
    if (!domain) {
      const count = combinationCount(this.families(this.outputs).map((f) => f.length));
      this.report.at(
        [],
        'warning',
        `the resolution table has ${count} combinations of system statuses to check, more than the limit of ${this.context.maxCombinations}, so it was not checked for rules that can never fire, overlaps or gaps.`,
      );
    } else {
      const overlapping = this.reportOverlaps(overlaps);
      this.checkReachability(domain, overlapping);
      this.checkGaps(domain);
    }
    this.checkExamples(domain);
    return this.report.problems();
  }

  private reportOverlaps(overlaps: Map<string, Int32Array>): Set<number> {
    const overlapping = new Set<number>();
    for (const [key, masks] of overlaps) {
      const [a, b] = key.split(':').map(Number);
      overlapping.add(b);
      this.report.rule(
        b,
        'error',
        `rules ${this.rules[a].id} and ${this.rules[b].id} overlap: both match a customer with ${this.showMasks(masks)}, but the UNIQUE hit policy allows at most one matching row. ${UNIQUE_ADVICE}`,
      );
    }
    return overlapping;
  }

  private checkReachability(domain: MaskDomain, overlapping: ReadonlySet<number>): void {
    const { exploration } = domain;
    const dead = this.rules.flatMap((rule, r) => (exploration.firstDecided[r] || rule.fallback || overlapping.has(r) ? [] : [r]));
    if (dead.length === 0) return;
    // With every status possible in every system, the same search tells whether a rule is dead
    // only because some system never maps to a status it tests for; the message then says which.
    const anyStatus = this.explore(this.systems.map(() => this.bits(this.statuses)));
    const unexplained = (combo: Int32Array | undefined): string | undefined => {
      if (!anyStatus || !combo) return undefined;
      const masks = this.masksOf(anyStatus, combo);
      const never = this.systems.flatMap((s, i) => {
        const missing = this.statusesOf(masks[i] & ~this.outputs[i]);
        return missing.length > 0 ? [`${s} never maps to ${missing.join(' or ')}`] : [];
      });
      return `a customer with ${this.showMasks(masks)}, but ${never.join(' and ')}`;
    };
    const why = covers(
      dead.filter((r) => exploration.firstMatch[r]),
      exploration,
      this.rules,
      this.priority,
      (visit) => this.explore(this.outputs, (_masks, _decider, matching) => visit(matching)),
    );
    for (const r of dead) {
      const rule = this.rules[r];
      this.report.dead.add(r);
      if (!exploration.firstMatch[r]) {
        const needs = unexplained(anyStatus?.exploration.firstMatch[r]);
        this.report.rule(
          r,
          'error',
          `rule ${rule.id} can never fire: no customer matches it, because ${needs ? `it needs ${needs}` : 'its conditions contradict each other'}. Fix the condition or delete the rule.`,
        );
        continue;
      }
      const cover = why.get(r) ?? { rules: [], jointly: true };
      const elsewhere = unexplained(anyStatus?.exploration.firstDecided[r]);
      this.report.rule(
        r,
        'error',
        `${unreachableMessage(rule, cover, this.rules, this.priority, 'customer')}${elsewhere ? ` (it could only fire for ${elsewhere})` : ''}.`,
      );
    }
  }

  private checkGaps(domain: MaskDomain): void {
    if (domain.exploration.gaps === 0) return;
    const examples: string[] = [];
    let others = 0;
    this.explore(this.outputs, (masks, decider) => {
      if (decider >= 0) return;
      if (examples.length < LISTED_EXAMPLES) examples.push(this.showMasks(masks));
      else others++;
    });
    const more = others > 0 ? ` (nor ${others} other combinations of system statuses)` : '';
    this.report.at(
      [],
      'error',
      `no resolution rule matches a customer with ${examples.join(', nor ')}${more}, and the table has no fallback row, so resolving such a customer fails. Add rules for them or a fallback row.`,
    );
  }

  /** Rule tests: a rule is exercised by an example that names it, or, naming none, that it decides. */
  private checkExamples(domain: MaskDomain | undefined): void {
    const exampled = new Set<string>();
    for (const example of this.context.ruleSet.examples.resolution) {
      if (example.expect.reason !== undefined) {
        exampled.add(example.expect.reason);
        continue;
      }
      const masks = new Int32Array(this.systems.length);
      for (const [system, statuses] of Object.entries(example.systems)) {
        const i = this.systemIndexes.get(system);
        if (i !== undefined) masks[i] |= this.bits(statuses);
      }
      const decider = decide(
        this.rules.flatMap((rule, r) => (rule.test(masks) ? [r] : [])),
        this.rules,
        this.priority,
      );
      if (decider >= 0) exampled.add(this.rules[decider].id);
    }
    this.rules.forEach((rule, r) => {
      if (exampled.has(rule.id) || this.report.dead.has(r)) return;
      const combo = domain?.exploration.firstDecided[r];
      const suggestion =
        domain && combo
          ? `, e.g. { systems: ${this.showMasks(this.masksOf(domain, combo))}, expect: { status: ${showScalar(rule.then)}, reason: ${showScalar(rule.id)} } }`
          : '';
      this.report.rule(r, 'warning', `rule ${rule.id} has no example in examples.resolution. Add one${suggestion}.`);
    });
  }

  /** Evaluates every rule on every combination of masks drawn from `possible`; undefined when over the limit. */
  private explore(
    possible: readonly number[],
    visit?: (masks: Int32Array, decider: number, matching: readonly number[]) => void,
  ): MaskDomain | undefined {
    const families = this.families(possible);
    const sizes = families.map((f) => f.length);
    if (combinationCount(sizes) > this.context.maxCombinations) return undefined;
    const masks = new Int32Array(this.systems.length);
    const exploration = explore(sizes, this.rules, this.priority, (r) => this.rules[r].test(masks), {
      skip: (combo) => combo.every((c, i) => families[i][c] === 0),
      prepare: (combo) => combo.forEach((c, i) => (masks[i] = families[i][c])),
      visit: visit && ((_combo, decider, matching) => visit(masks, decider, matching)),
    });
    return { families, exploration };
  }

  private families(possible: readonly number[]): number[][] {
    return this.systems.map((_, i) => subsetsUpTo(possible[i], this.maxStatuses[i]));
  }

  private masksOf(domain: MaskDomain, combo: Int32Array): Int32Array {
    return Int32Array.from(combo, (c, i) => domain.families[i][c]);
  }

  /** Per system, the most statuses one AND-branch of `c` tests that system for (`anySystem` may be any system). */
  private need(c: Condition): number[] {
    const none = this.systems.map(() => 0);
    switch (c.kind) {
      case 'always':
        return none;
      case 'system':
        return this.systems.map((s) => (s === c.system && c.test.kind === 'has' ? 1 : 0));
      case 'anySystem':
        return this.systems.map(() => 1);
      case 'allOf':
        return c.conditions.map((p) => this.need(p)).reduce((acc, n) => acc.map((v, i) => v + n[i]), none);
      case 'anyOf':
        return c.conditions.map((p) => this.need(p)).reduce((acc, n) => acc.map((v, i) => Math.max(v, n[i])), none);
    }
  }

  private bits(statuses: readonly string[]): number {
    return statuses.reduce((acc, s) => {
      const i = this.context.statusIndexes.get(s);
      return i === undefined ? acc : acc | (1 << i);
    }, 0);
  }

  private statusesOf(mask: number): string[] {
    return this.statuses.filter((_, i) => (mask & (1 << i)) !== 0);
  }

  /** Masks as the `systems` of a resolution example: systems without a live record are left out. */
  private showMasks(masks: Int32Array): string {
    const parts = this.systems.flatMap((s, i) =>
      masks[i] === 0 ? [] : [`${showScalar(s)}: [${this.statusesOf(masks[i]).map(showScalar).join(', ')}]`],
    );
    return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
  }
}

/** All subsets of the bits of `mask` with at most `k` bits, smallest first (the empty one first). */
function subsetsUpTo(mask: number, k: number): number[] {
  const bits: number[] = [];
  for (let b = 0; b < 32; b++) if (mask & (1 << b)) bits.push(1 << b);
  const out: number[] = [0];
  let layer: Array<{ mask: number; next: number }> = [{ mask: 0, next: 0 }];
  for (let size = 1; size <= Math.min(k, bits.length); size++) {
    const grown = layer.flatMap(({ mask: m, next }) => bits.slice(next).map((bit, j) => ({ mask: m | bit, next: next + j + 1 })));
    out.push(...grown.map((g) => g.mask));
    layer = grown;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values as an analyst writes them in the rule set
// ---------------------------------------------------------------------------------------------

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const YAML_WORDS = new Set(['true', 'false', 'null', 'yes', 'no', 'on', 'off', 'y', 'n']);

function showScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return PLAIN.test(value) && !YAML_WORDS.has(value.toLowerCase()) ? value : JSON.stringify(value);
  return String(value);
}

/** A normalized input value as a raw field value: dates as ISO-8601 strings. */
function showInputValue(value: unknown, input: InputDef): string {
  if (input.type === 'date' && typeof value === 'number') return JSON.stringify(new Date(value).toISOString());
  return showScalar(value);
}

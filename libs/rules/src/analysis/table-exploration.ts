import { formatPath } from '../model/path';
import { Problem, RuleSet, Severity } from '../model/rule-set.model';

/** What every table analysis shares: the rule set, the evaluation time, the limits and the budget. */
export interface Context {
  ruleSet: RuleSet;
  now: number;
  maxCombinations: number;
  statusIndexes: Map<string, number>;
  budget: AnalysisBudget;
}

export const LISTED_EXAMPLES = 3;
export const LISTED_RULES = 5;
/** Overlapping pairs reported per table; more are counted in one last problem. */
export const LISTED_OVERLAPS = 50;
export const UNIQUE_ADVICE = 'Make their conditions exclusive, or use the FIRST or PRIORITY hit policy.';

/** Thrown inside a check when the analysis has used its budget; the check is then reported as not done. */
export class BudgetExhausted extends Error {
  constructor(readonly limit: number) {
    super(`the analysis budget of ${limit} steps is used up`);
  }
}

/**
 * A bound on the work of one analysis, in steps (a cell evaluated, a word of rule bits combined, a
 * resolution row tested), shared by every table of the rule set. Deterministic, unlike a time
 * limit: the same rule set always gets the same answer. A check that would go past it is skipped
 * with a warning saying so, and claims nothing.
 */
export class AnalysisBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  spend(steps: number): void {
    this.used += steps;
    if (this.used > this.limit) throw new BudgetExhausted(this.limit);
  }

  /** Whether `steps` more would still fit (nothing is spent). */
  affords(steps: number): boolean {
    return this.used + steps <= this.limit;
  }

  get spent(): number {
    return this.used;
  }
}

export interface RankedRule {
  id: string;
  then: string;
  /** Index of `then` in the priority order: what PRIORITY compares. */
  statusIndex: number;
  fallback: boolean;
}

export function ranked(rule: { id: string; then: string; fallback: boolean }, context: Context): RankedRule {
  const statusIndex = context.statusIndexes.get(rule.then) ?? context.ruleSet.statuses.length;
  return { id: rule.id, then: rule.then, fallback: rule.fallback, statusIndex };
}

export interface Exploration {
  /** The first combination on which each rule matches / is the one that decides. */
  firstMatch: Array<Int32Array | undefined>;
  firstDecided: Array<Int32Array | undefined>;
  /** Per rule, the rules that decide the combinations it matches but does not decide (filled by `explore` only). */
  coveredBy: Array<Set<number>>;
  /** Combinations that no rule matches. */
  gaps: number;
}

/** Calls `visit` with every `combo` such that `0 ≤ combo[i] < sizes[i]` (the array is reused). */
export function forEachCombination(sizes: readonly number[], visit: (combo: Int32Array) => void): void {
  if (sizes.some((s) => s === 0)) return;
  const combo = new Int32Array(sizes.length);
  for (;;) {
    visit(combo);
    let i = sizes.length - 1;
    while (i >= 0 && ++combo[i] === sizes[i]) combo[i--] = 0;
    if (i < 0) return;
  }
}

export function combinationCount(sizes: readonly number[]): number {
  return sizes.reduce((n, s) => n * s, 1);
}

/** The rule that decides among the matching ones (in table order), as `CompiledRuleSet` picks it; -1 = none. */
export function decide(matching: readonly number[], rules: readonly RankedRule[], priority: boolean): number {
  if (matching.length === 0) return -1;
  let best = matching[0];
  if (priority) for (const r of matching) if (rules[r].statusIndex < rules[best].statusIndex) best = r;
  return best;
}

/** Whether rule `a` wins over rule `b` when both match, as `decide` picks. */
export function outranks(a: number, b: number, rules: readonly RankedRule[], priority: boolean): boolean {
  if (!priority) return a < b;
  return rules[a].statusIndex < rules[b].statusIndex || (rules[a].statusIndex === rules[b].statusIndex && a < b);
}

export interface ExploreOptions {
  skip?: (combo: Int32Array) => boolean;
  prepare?: (combo: Int32Array) => void;
  visit?: (combo: Int32Array, decider: number, matching: readonly number[]) => void;
}

/** Evaluates every rule on every combination (rule by rule: for tables whose rows are not products of cells). */
export function explore(
  sizes: readonly number[],
  rules: readonly RankedRule[],
  priority: boolean,
  matches: (rule: number, combo: Int32Array) => boolean,
  budget: AnalysisBudget,
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
    budget.spend(rules.length);
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
      budget.spend(matching.length);
      for (const r of matching) if (r !== decider) result.coveredBy[r].add(decider);
    }
    options.visit?.(combo, decider, matching);
  });
  return result;
}

/** Problems of one table, grouped by rule so they read in the table's order. */
export class TableReport {
  private readonly byRule: Problem[][];
  private readonly others: Problem[] = [];
  /** Rules already reported as never firing (no point asking for an example of them). */
  readonly dead = new Set<number>();
  private log: Array<() => void> = [];

  constructor(
    private readonly base: PropertyKey[],
    ruleCount: number,
  ) {
    this.byRule = Array.from({ length: ruleCount }, () => []);
  }

  rule(r: number, severity: Severity, message: string): void {
    this.byRule[r].push({ path: formatPath([...this.base, 'rules', r]), severity, message });
    this.log.push(() => this.byRule[r].pop());
  }

  at(path: PropertyKey[], severity: Severity, message: string): void {
    this.others.push({ path: formatPath([...this.base, ...path]), severity, message });
    this.log.push(() => this.others.pop());
  }

  markDead(r: number): void {
    if (this.dead.has(r)) return;
    this.dead.add(r);
    this.log.push(() => this.dead.delete(r));
  }

  /**
   * Runs one check; if it runs out of budget, takes back what it reported and says instead that
   * it was not done (`what`: what was not checked). Returns whether it completed.
   */
  attempt(what: string, check: () => void): boolean {
    const mark = this.log.length;
    try {
      check();
      return true;
    } catch (e) {
      if (!(e instanceof BudgetExhausted)) throw e;
      while (this.log.length > mark) this.log.pop()!();
      this.at(
        [],
        'warning',
        `${what}: not checked, because ${e.message} (the work grows with rows × values, and the budget keeps validation quick). Split the table or simplify its conditions to have it checked.`,
      );
      return false;
    }
  }

  problems(): Problem[] {
    return [...this.byRule.flat(), ...this.others];
  }
}

export interface Cover {
  rules: number[];
  /** The rules only cover it together; otherwise each of them alone does. */
  jointly: boolean;
}

/**
 * Why each of `dead` (rules that match somewhere but never decide) never decides: the rules that
 * outrank it and match wherever it matches, when there are any (each alone explains it), else all
 * the rules that decide where it matches. `rerun` explores the same table again.
 */
export function covers(
  dead: readonly number[],
  exploration: Exploration,
  rules: readonly RankedRule[],
  priority: boolean,
  budget: AnalysisBudget,
  rerun: (visit: (matching: readonly number[]) => void) => void,
): Map<number, Cover> {
  const always = new Map<number, Set<number> | undefined>(dead.map((r) => [r, undefined]));
  rerun((matching) => {
    for (const r of matching) {
      if (!always.has(r)) continue;
      const common = always.get(r);
      budget.spend(matching.length);
      if (!common) always.set(r, new Set(matching.filter((e) => outranks(e, r, rules, priority))));
      else {
        const here = new Set(matching);
        for (const e of common) if (!here.has(e)) common.delete(e);
      }
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

export function unreachableMessage(
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

import { compileMaskCondition } from '../compiler/mask-condition.compiler';
import { Condition, Problem } from '../model/rule-set.model';
import { RULE_SET_LIMITS } from '../model/rule-set.limits';
import { showScalar } from './representative-values';
import {
  Context,
  covers,
  decide,
  explore,
  Exploration,
  LISTED_EXAMPLES,
  LISTED_OVERLAPS,
  RankedRule,
  ranked,
  TableReport,
  UNIQUE_ADVICE,
  unreachableMessage,
} from './table-exploration';

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
export class ResolutionTableAnalysis {
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
    this.rules = table.rules.map((rule) => {
      // A literal, not a spread of `ranked(…)`: objects built by spreading were slower to read in the hot loops.
      const { id, then, fallback, statusIndex } = ranked(rule, context);
      return { id, then, fallback, statusIndex, test: compileMaskCondition(rule.when, layout), need: this.need(rule.when) };
    });
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
    let domain: MaskDomain | undefined;
    const size = this.domainSize(this.outputs);
    if (size > this.context.maxCombinations) {
      this.report.at(
        [],
        'warning',
        `the resolution table has ${size} combinations of system statuses to check, more than the limit of ${this.context.maxCombinations}, so it was not checked for rules that can never fire, overlaps or gaps.`,
      );
    } else {
      const done = this.report.attempt('the resolution table (rules that can never fire, overlaps, gaps)', () => {
        const overlaps = new Overlaps(this.rules.length);
        domain = this.explore(this.outputs, (masks, _decider, matching) => {
          if (!this.unique) return;
          const rows = matching.filter((r) => !this.rules[r].fallback);
          this.context.budget.spend(rows.length * rows.length);
          for (let b = 1; b < rows.length; b++) for (let a = 0; a < b; a++) overlaps.add(rows[a], rows[b], masks);
        });
        const overlapping = this.reportOverlaps(overlaps);
        this.checkReachability(domain!, overlapping);
        this.checkGaps(domain!);
      });
      if (!done) domain = undefined;
    }
    this.report.attempt('the examples of the resolution table', () => this.checkExamples(domain));
    return this.report.problems();
  }

  private reportOverlaps(overlaps: Overlaps): Set<number> {
    for (const { a, b, masks } of overlaps.listed) {
      this.report.rule(
        b,
        'error',
        `rules ${this.rules[a].id} and ${this.rules[b].id} overlap: both match a customer with ${this.showMasks(masks)}, but the UNIQUE hit policy allows at most one matching row. ${UNIQUE_ADVICE}`,
      );
    }
    const more = overlaps.unlisted();
    if (more.length > 0) {
      this.report.at(
        [],
        'error',
        `more rows overlap an earlier row than are listed: ${more.slice(0, LISTED_OVERLAPS).map((r) => this.rules[r].id).join(', ')}${more.length > LISTED_OVERLAPS ? ` and ${more.length - LISTED_OVERLAPS} more` : ''}. ${UNIQUE_ADVICE}`,
      );
    }
    return overlaps.rows;
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
      this.context.budget,
      (visit) => this.explore(this.outputs, (_masks, _decider, matching) => visit(matching)),
    );
    for (const r of dead) {
      const rule = this.rules[r];
      this.report.markDead(r);
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
      this.context.budget.spend(this.rules.length);
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
    if (this.domainSize(possible) > this.context.maxCombinations) return undefined;
    const families = this.families(possible);
    const sizes = families.map((f) => f.length);
    const masks = new Int32Array(this.systems.length);
    const exploration = explore(sizes, this.rules, this.priority, (r) => this.rules[r].test(masks), this.context.budget, {
      skip: (combo) => combo.every((c, i) => families[i][c] === 0),
      prepare: (combo) => combo.forEach((c, i) => (masks[i] = families[i][c])),
      visit: visit && ((_combo, decider, matching) => visit(masks, decider, matching)),
    });
    return { families, exploration };
  }

  /** How many combinations `explore` would try, counted without building them (a family can be huge). */
  private domainSize(possible: readonly number[]): number {
    let size = 1;
    possible.forEach((mask, i) => (size *= subsetCount(bitCount(mask), this.maxStatuses[i])));
    return size;
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

/** Pairs of overlapping rows: the first `LISTED_OVERLAPS` with a customer both match, and every row that overlaps an earlier one. */
class Overlaps {
  readonly listed: Array<{ a: number; b: number; masks: Int32Array }> = [];
  readonly rows = new Set<number>();
  private readonly seen = new Set<number>();

  constructor(private readonly ruleCount: number) {}

  add(a: number, b: number, masks: Int32Array): void {
    this.rows.add(b);
    if (this.listed.length >= LISTED_OVERLAPS) return;
    const key = a * this.ruleCount + b;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.listed.push({ a, b, masks: masks.slice() });
  }

  /** Overlapping rows of which no pair is listed. */
  unlisted(): number[] {
    const listed = new Set(this.listed.map((o) => o.b));
    return [...this.rows].filter((r) => !listed.has(r)).sort((x, y) => x - y);
  }
}

function bitCount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

/** Subsets of a set of `n` with at most `k` members: Σ C(n, i) for i ≤ k. */
function subsetCount(n: number, k: number): number {
  let total = 0;
  let c = 1;
  for (let i = 0; i <= Math.min(n, k); i++) {
    total += c;
    c = (c * (n - i)) / (i + 1);
  }
  return total;
}

/** All subsets of the bits of `mask` with at most `k` bits, smallest first (the empty one first). */
function subsetsUpTo(mask: number, k: number): number[] {
  const bits: number[] = [];
  for (let b = 0; b < RULE_SET_LIMITS.statuses; b++) if (mask & (1 << b)) bits.push(1 << b);
  const out: number[] = [0];
  let layer: Array<{ mask: number; next: number }> = [{ mask: 0, next: 0 }];
  for (let size = 1; size <= Math.min(k, bits.length); size++) {
    const grown = layer.flatMap(({ mask: m, next }) => bits.slice(next).map((bit, j) => ({ mask: m | bit, next: next + j + 1 })));
    out.push(...grown.map((g) => g.mask));
    layer = grown;
  }
  return out;
}


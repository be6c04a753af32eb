import { CellTest, compileCell, normalizer } from '../compiler/cell.compiler';
import { InputDef, MappingTable, Problem, Scalar } from '../model/rule-set.model';
import { allBits, and, bitsBelow, firstBit, forEachBit, hasBit, hasBitAt, intersects, isEmpty, RuleBits, setBit, wordsFor } from './rule-bits';
import { isRelative, representativeValues, showInputValue, showScalar } from './representative-values';
import {
  combinationCount,
  Context,
  Cover,
  Exploration,
  LISTED_EXAMPLES,
  LISTED_OVERLAPS,
  RankedRule,
  ranked,
  TableReport,
  UNIQUE_ADVICE,
  unreachableMessage,
} from './table-exploration';

/** Words of rule bits one table may use (4 bytes each, so 16 MB): rows × representative values. */
const MAX_BIT_WORDS = 4_000_000;

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

/**
 * The analysis of one mapping table. A row is a product of per-input cells, so for each input and
 * each of its representative values, the set of rows whose cell holds there (or that have none) is
 * computed once, as rule bits; the rows matching a combination of values are then the AND of one
 * such set per input, and the deciding row is its first bit in decision order. Work and memory
 * grow with rows × values / 32 per combination, not rows × values.
 */
export class MappingTableAnalysis {
  private readonly system: string;
  private readonly priority: boolean;
  private readonly rules: MappingRuleUnderTest[];
  private readonly domains: InputDomain[];
  private readonly report: TableReport;
  /** Appended to claims that hold at the evaluation time only. */
  private readonly atTime: string;
  /** Decision order → rule: table order, or under PRIORITY the order `decide` prefers. Bit p stands for `order[p]`. */
  private readonly order: number[];
  private readonly position: Int32Array;
  private readonly words: number;
  /** `holds[slot]`, row i (words i·W … i·W+W-1): the rules whose cell on that input holds for its i-th value, or that have none. */
  private holds: Uint32Array[] = [];
  /** Per rule, the inputs on which its cell holds for no value. */
  private impossibleOn: number[][] = [];

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
      // A literal, not a spread of `ranked(…)`: objects built by spreading were 6× slower to read in the hot loops.
      const { id, then, fallback, statusIndex } = ranked(rule, context);
      return { id, then, fallback, statusIndex, tests, relative: tests.some((t) => t.relative) };
    });
    this.domains = table.inputs.map((input) => {
      const cells = table.rules.flatMap((rule) => (rule.when[input.name] ? [rule.when[input.name]] : []));
      return { input, referenced: cells.length > 0, values: cells.length > 0 ? representativeValues(input, cells, now) : [null] };
    });
    this.order = this.rules.map((_, r) => r);
    if (this.priority) this.order.sort((a, b) => this.rules[a].statusIndex - this.rules[b].statusIndex || a - b);
    this.position = new Int32Array(this.rules.length);
    this.order.forEach((r, p) => (this.position[r] = p));
    this.words = wordsFor(this.rules.length);
    this.atTime = this.rules.some((r) => r.relative) ? ` at the evaluation time ${new Date(now).toISOString()}` : '';
  }

  problems(): Problem[] {
    const sizes = this.domains.map((d) => d.values.length);
    const bitWords = sizes.reduce((n, v) => n + v, 0) * this.words;
    let exploration: Exploration | undefined;
    if (bitWords > MAX_BIT_WORDS) {
      this.report.at(
        [],
        'warning',
        `the ${this.system} table has ${this.rules.length} rows over ${sizes.reduce((n, v) => n + v, 0)} distinct input values, more than the analysis holds (${MAX_BIT_WORDS * 32} row-value pairs), so it was not checked for rules that can never fire, overlaps, gaps or allowed values that no rule maps.`,
      );
    } else if (this.report.attempt(`the ${this.system} table`, () => this.build())) {
      const impossible = this.checkImpossibleRules();
      let overlapping = new Set<number>();
      if (this.table.hitPolicy === 'UNIQUE') this.report.attempt(`overlaps in the ${this.system} table`, () => (overlapping = this.checkOverlaps(impossible)));
      const count = combinationCount(sizes);
      if (count > this.context.maxCombinations) {
        this.report.at(
          [],
          'warning',
          `the ${this.system} table has ${count} combinations of input values to check, more than the limit of ${this.context.maxCombinations}, so it was not checked for rules that can never fire, for gaps or for allowed values that no rule maps.`,
        );
      } else {
        const done = this.report.attempt(`the ${this.system} table (rules that can never fire, gaps, allowed values no rule maps)`, () => {
          exploration = this.checkCoverage(sizes, overlapping);
        });
        if (!done) exploration = undefined;
      }
    }
    this.report.attempt(`the examples of the ${this.system} table`, () => this.checkExamples(exploration));
    return this.report.problems();
  }

  private build(): void {
    const { budget, now } = this.context;
    const W = this.words;
    this.impossibleOn = this.rules.map(() => []);
    this.holds = this.domains.map((domain, slot) => {
      const values = domain.values;
      const V = values.length;
      budget.spend(V * W);
      const matrix = new Uint32Array(V * W);
      const withoutCell = new Uint32Array(W);
      const testing: Array<{ r: number; test: CellTest }> = [];
      this.rules.forEach((rule, r) => {
        const t = rule.tests.find((x) => x.slot === slot);
        if (t) testing.push({ r, test: t.test });
        else setBit(withoutCell, this.position[r]);
      });
      for (let i = 0; i < V; i++) matrix.set(withoutCell, i * W);
      for (const { r, test } of testing) {
        budget.spend(V);
        const p = this.position[r];
        const word = p >>> 5;
        const bit = 1 << (p & 31);
        let any = false;
        for (let i = 0; i < V; i++) {
          if (!test(values[i], now)) continue;
          matrix[i * W + word] |= bit;
          any = true;
        }
        if (!any) this.impossibleOn[r].push(slot);
      }
      return matrix;
    });
  }

  /**
   * Calls `visit` with every combination of representative values (slot 0 slowest, as
   * `forEachCombination`) and the rules matching it; `skip` leaves out values of an input.
   * The AND of the first inputs' sets is kept per depth, so each combination costs one AND.
   */
  private scan(sizes: readonly number[], visit: (combo: Int32Array, matching: RuleBits) => void, skip?: (slot: number, i: number) => boolean): void {
    const { budget } = this.context;
    const W = this.words;
    const S = sizes.length;
    const prefix: RuleBits[] = Array.from({ length: S + 1 }, () => new Uint32Array(W));
    prefix[0] = allBits(this.rules.length);
    const combo = new Int32Array(S);
    const descend = (slot: number): void => {
      if (slot === S) {
        visit(combo, prefix[S]);
        return;
      }
      for (let i = 0; i < sizes[slot]; i++) {
        if (skip?.(slot, i)) continue;
        combo[slot] = i;
        budget.spend(W);
        and(prefix[slot + 1], prefix[slot], this.holds[slot], i * W);
        descend(slot + 1);
      }
    };
    descend(0);
  }

  /** A rule whose cell on some input holds for no value matches nothing (exact: every class of values is represented). */
  private checkImpossibleRules(): Set<number> {
    const impossible = new Set<number>();
    this.rules.forEach((rule, r) => {
      const slots = this.impossibleOn[r];
      if (slots.length === 0) return;
      impossible.add(r);
      this.report.markDead(r);
      const tests = rule.tests.filter((t) => slots.includes(t.slot));
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
   * (UNIQUE is never PRIORITY: bit positions are table positions here.)
   */
  private checkOverlaps(impossible: ReadonlySet<number>): Set<number> {
    const { budget } = this.context;
    const W = this.words;
    const { rules, domains, holds } = this;
    const overlapping = new Set<number>();
    const candidates = new Uint32Array(W);
    rules.forEach((rule, r) => !rule.fallback && !impossible.has(r) && setBit(candidates, r));
    // Per input, the rules that hold for some value (for a row without a cell there: any value does).
    const anywhere = holds.map((matrix, slot) => {
      const bits = new Uint32Array(W);
      budget.spend(domains[slot].values.length * W);
      for (let i = 0; i < domains[slot].values.length; i++) for (let w = 0; w < W; w++) bits[w] |= matrix[i * W + w];
      return bits;
    });
    const union = new Uint32Array(W);
    let listed = 0;
    const unlisted: number[] = [];
    const listedRows = new Set<number>();
    for (let b = 0; b < rules.length; b++) {
      if (!hasBit(candidates, b)) continue;
      const others = bitsBelow(b, W);
      and(others, others, candidates);
      for (let slot = 0; slot < domains.length && !isEmpty(others); slot++) {
        if (!rules[b].tests.some((t) => t.slot === slot)) {
          and(others, others, anywhere[slot]);
          continue;
        }
        union.fill(0);
        const V = domains[slot].values.length;
        budget.spend(V);
        for (let i = 0; i < V; i++) {
          if (!hasBitAt(holds[slot], i * W, b)) continue;
          budget.spend(W);
          for (let w = 0; w < W; w++) union[w] |= holds[slot][i * W + w];
        }
        and(others, others, union);
      }
      if (isEmpty(others)) continue;
      overlapping.add(b);
      forEachBit(others, (a) => {
        if (listed >= LISTED_OVERLAPS) return;
        listed++;
        listedRows.add(b);
        const combo = this.commonValues(a, b);
        const example = this.showCombo(combo, (slot) => rules[a].tests.some((t) => t.slot === slot) || rules[b].tests.some((t) => t.slot === slot));
        const when = rules[a].relative || rules[b].relative ? this.atTime : '';
        this.report.rule(
          b,
          'error',
          `rules ${rules[a].id} and ${rules[b].id} overlap: both match ${example}${when}, but the UNIQUE hit policy allows at most one matching row. ${UNIQUE_ADVICE}`,
        );
      });
      if (!listedRows.has(b)) unlisted.push(b);
    }
    if (unlisted.length > 0) {
      this.report.at(
        [],
        'error',
        `more rows overlap an earlier row than are listed: ${unlisted.slice(0, LISTED_OVERLAPS).map((r) => rules[r].id).join(', ')}${unlisted.length > LISTED_OVERLAPS ? ` and ${unlisted.length - LISTED_OVERLAPS} more` : ''}. ${UNIQUE_ADVICE}`,
      );
    }
    return overlapping;
  }

  /** Per input, the first value on which both rules hold. */
  private commonValues(a: number, b: number): Int32Array {
    const W = this.words;
    const combo = new Int32Array(this.domains.length);
    this.domains.forEach((d, slot) => {
      const matrix = this.holds[slot];
      const pa = this.position[a];
      const pb = this.position[b];
      this.context.budget.spend(d.values.length);
      let i = 0;
      while (i < d.values.length && !(hasBitAt(matrix, i * W, pa) && hasBitAt(matrix, i * W, pb))) i++;
      combo[slot] = i;
    });
    return combo;
  }

  /** Rules that never decide, values of typed inputs that no rule maps, and inputs no rule matches. */
  private checkCoverage(sizes: number[], overlapping: ReadonlySet<number>): Exploration {
    const { rules, domains, order } = this;
    const W = this.words;
    const { budget } = this.context;
    const exploration: Exploration = {
      firstMatch: rules.map(() => undefined),
      firstDecided: rules.map(() => undefined),
      coveredBy: rules.map(() => new Set<number>()),
      gaps: 0,
    };
    const unseen = allBits(rules.length);
    const nonFallback = new Uint32Array(W);
    rules.forEach((rule, r) => !rule.fallback && setBit(nonFallback, this.position[r]));
    // Per input value: some non-fallback rule matches it / decides it; the fallback that decides it.
    const matchedByRule = domains.map((d) => new Uint8Array(d.values.length));
    const decidedByRule = domains.map((d) => new Uint8Array(d.values.length));
    const decidedByFallback = domains.map((d) => new Int32Array(d.values.length).fill(-1));
    this.scan(sizes, (combo, matching) => {
      budget.spend(2 * W);
      const first = firstBit(matching);
      if (first < 0) {
        exploration.gaps++;
        return;
      }
      forEachBit(
        matching,
        (p) => {
          exploration.firstMatch[order[p]] = combo.slice();
          unseen[p >>> 5] &= ~(1 << (p & 31));
        },
        unseen,
      );
      const decider = order[first];
      exploration.firstDecided[decider] ??= combo.slice();
      const byFallback = rules[decider].fallback;
      const byRule = intersects(matching, nonFallback);
      for (let slot = 0; slot < combo.length; slot++) {
        const i = combo[slot];
        if (byRule) matchedByRule[slot][i] = 1;
        if (!byFallback) decidedByRule[slot][i] = 1;
        else if (decidedByFallback[slot][i] < 0) decidedByFallback[slot][i] = decider;
      }
    });

    // A fallback that never fires only means the rows above it cover every value of the declared
    // types; it still catches wrongly typed values, so it is no problem. Under UNIQUE, a row covered
    // by others overlaps them, which is reported already.
    const dead = rules.flatMap((rule, r) =>
      exploration.firstDecided[r] || rule.fallback || this.report.dead.has(r) || overlapping.has(r) ? [] : [r],
    );
    for (const [r, cover] of this.covers(sizes, dead)) {
      const relative = rules[r].relative || cover.rules.some((c) => rules[c].relative);
      this.report.markDead(r);
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
      const index = new Map(d.values.map((v, i) => [v, i]));
      for (const value of checked) {
        const i = d.referenced ? (index.get(normalize(value)) ?? -1) : 0;
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
      this.scan(
        sizes,
        (combo, matching) => {
          budget.spend(W);
          if (!isEmpty(matching)) return;
          if (examples.length < LISTED_EXAMPLES) examples.push(this.showCombo(combo));
          else others++;
        },
        (slot, i) => uncovered[slot].has(i),
      );
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

  /**
   * Why each of `dead` (rules that match somewhere but never decide) never decides: the rules that
   * outrank it and match wherever it matches, when there are any (each alone explains it), else all
   * the rules that decide where it matches.
   */
  private covers(sizes: readonly number[], dead: readonly number[]): Map<number, Cover> {
    if (dead.length === 0) return new Map();
    const { order } = this;
    const W = this.words;
    const { budget } = this.context;
    const deadBits = new Uint32Array(W);
    for (const r of dead) setBit(deadBits, this.position[r]);
    const always = new Map<number, RuleBits>();
    const deciders = new Map<number, Set<number>>(dead.map((r) => [r, new Set<number>()]));
    this.scan(sizes, (_combo, matching) => {
      budget.spend(W);
      if (!intersects(matching, deadBits)) return;
      const decider = order[firstBit(matching)];
      forEachBit(
        matching,
        (p) => {
          budget.spend(W);
          const r = order[p];
          deciders.get(r)!.add(decider);
          const common = always.get(r);
          if (common) and(common, common, matching);
          else {
            const outranking = bitsBelow(p, W);
            and(outranking, outranking, matching);
            always.set(r, outranking);
          }
        },
        deadBits,
      );
    });
    const sorted = (rules: Iterable<number>) => [...rules].sort((x, y) => x - y);
    return new Map(
      dead.map((r): [number, Cover] => {
        const alone: number[] = [];
        const common = always.get(r);
        if (common) forEachBit(common, (p) => alone.push(order[p]));
        return [r, alone.length > 0 ? { rules: sorted(alone), jointly: false } : { rules: sorted(deciders.get(r)!), jointly: true }];
      }),
    );
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
      const decider = this.decideValues(values);
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

  /** The rule that decides these (normalized) input values, as `CompiledRuleSet` picks it; -1 = none. */
  private decideValues(values: readonly unknown[]): number {
    const { rules } = this;
    const { now, budget } = this.context;
    budget.spend(rules.length);
    let best = -1;
    for (let r = 0; r < rules.length; r++) {
      const tests = rules[r].tests;
      let hit = true;
      for (let t = 0; t < tests.length && hit; t++) hit = tests[t].test(values[tests[t].slot], now);
      if (!hit) continue;
      if (!this.priority) return r;
      if (best < 0 || rules[r].statusIndex < rules[best].statusIndex) best = r;
    }
    return best;
  }

  /** A combination as a record of raw field values; inputs no rule reads are left out (any value does). */
  private showCombo(combo: Int32Array, shown: (slot: number) => boolean = () => true): string {
    const fields = this.domains.flatMap((d, slot) =>
      d.referenced && shown(slot) ? [`${showScalar(d.input.name)}: ${showInputValue(d.values[combo[slot]], d.input)}`] : [],
    );
    return fields.length === 0 ? 'any record' : `{ ${fields.join(', ')} }`;
  }
}

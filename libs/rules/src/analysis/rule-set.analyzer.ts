import { Problem, RuleSet } from '../model/rule-set.model';
import { MappingTableAnalysis } from './mapping-table.analysis';
import { ResolutionTableAnalysis } from './resolution-table.analysis';
import { AnalysisBudget, Context } from './table-exploration';

/**
 * Static analysis of a validated rule set, for what an analyst should fix before publishing: rules
 * that can never fire, overlaps a UNIQUE table forbids, inputs that no rule covers, and rules
 * without an example. Pure: no I/O; the evaluation time for relative dates is passed in.
 *
 * Claims are exhaustive, not sampled: each table is evaluated, with the same compiled cells and
 * the same hit-policy semantics as `CompiledRuleSet`, on a finite set of inputs that provably
 * stands for all of them (see `representativeValues` and `ResolutionTableAnalysis`). A table whose
 * set is larger than `maxCombinations` is not checked for reachability and gaps, and a check that
 * would take more than `maxSteps` is not done; a warning says so each time.
 */
export interface RuleSetAnalysisOptions {
  /** Evaluation time (epoch ms) for `olderThan` / `newerThan` cells; defaults to now. */
  now?: number;
  /** Most input combinations evaluated per table (default 200,000). */
  maxCombinations?: number;
  /** Work of the whole analysis, in steps (see `AnalysisBudget`; default 300,000,000: a second or two on one core). */
  maxSteps?: number;
}

export const DEFAULT_MAX_COMBINATIONS = 200_000;
export const DEFAULT_MAX_STEPS = 300_000_000;

export function analyzeRuleSet(ruleSet: RuleSet, options: RuleSetAnalysisOptions = {}): Problem[] {
  const context: Context = {
    ruleSet,
    now: options.now ?? Date.now(),
    maxCombinations: options.maxCombinations ?? DEFAULT_MAX_COMBINATIONS,
    statusIndexes: new Map(ruleSet.statuses.map((s, i) => [s, i])),
    budget: new AnalysisBudget(options.maxSteps ?? DEFAULT_MAX_STEPS),
  };
  return [
    ...ruleSet.mappings.flatMap((table) => new MappingTableAnalysis(table, context).problems()),
    ...new ResolutionTableAnalysis(context).problems(),
  ];
}

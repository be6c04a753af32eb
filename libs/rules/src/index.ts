export * from './model/rule-set.model';
export { parseRuleSet, parseDuration } from './model/rule-set.parser';
export type { KnownSources, ParseResult } from './model/rule-set.parser';
export { formatPath } from './model/path';
export { CompiledRuleSet } from './compiler/compiled-rule-set';
export type { MappingResult, Mapper, Resolution } from './compiler/compiled-rule-set';
export { compileRuleSet, runExamples, ruleSetChecksum } from './compiler/rule-set.compiler';
export * from './rules.errors';
export { analyzeRuleSet } from './analysis/rule-set.analyzer';

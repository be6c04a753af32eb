export * from './model/rule-set.model';
export { parseRuleSet, parseDuration, KnownSources, ParseResult } from './model/rule-set.parser';
export { formatPath } from './model/path';
export { CompiledRuleSet, MappingResult, Mapper, Resolution } from './compiler/compiled-rule-set';
export { compileRuleSet, runExamples, ruleSetChecksum } from './compiler/rule-set.compiler';
export * from './rules.errors';

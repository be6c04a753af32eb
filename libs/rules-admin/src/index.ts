export * from './rules-admin.errors';
export * from './rules-admin.module';
export * from './validation/rule-set-document';
export * from './validation/rule-set.validator';
export { RuleSetAnalysisPool } from './validation/rule-set-analysis.pool';
export * from './preview/impact-preview.service';
export * from './preview/draft-explanation.service';
export * from './lifecycle/rule-set-lifecycle.service';
export * from './rules-admin.context';

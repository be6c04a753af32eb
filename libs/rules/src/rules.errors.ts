import { Problem } from './model/rule-set.model';

export type RulesErrorCode = 'RULE_SET_INVALID' | 'RULE_EVALUATION';

export abstract class RulesError extends Error {
  abstract readonly code: RulesErrorCode;
}

/** A rule set that cannot be compiled; carries every problem found. */
export class RuleSetInvalidError extends RulesError {
  readonly code = 'RULE_SET_INVALID' as const;
  constructor(
    readonly problems: Problem[],
    readonly source = 'rule set',
  ) {
    super(
      `${source} is invalid:\n` +
        problems
          .filter((p) => p.severity === 'error')
          .map((p) => `  ${p.path}: ${p.message}`)
          .join('\n'),
    );
  }
}

export class RuleEvaluationError extends RulesError {
  readonly code = 'RULE_EVALUATION' as const;
}

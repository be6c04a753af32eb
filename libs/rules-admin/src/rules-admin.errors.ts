import { Problem } from '@app/rules';

/**
 * `ANALYSIS_UNAVAILABLE`: the validation could not run now (too many waiting, stopped at its time limit, out of memory).
 */
export type RulesAdminErrorCode = 'NOT_FOUND' | 'NOT_A_DRAFT' | 'DRAFT_CHANGED' | 'INVALID_RULE_SET' | 'BAD_DOCUMENT' | 'ANALYSIS_UNAVAILABLE';

/** A request about rule sets that cannot be carried out; the edges turn the code into a GraphQL code or exit status. */
export class RulesAdminError extends Error {
  constructor(
    readonly code: RulesAdminErrorCode,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

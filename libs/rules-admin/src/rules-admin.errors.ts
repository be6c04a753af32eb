import { Problem } from '@app/rules';

export type RulesAdminErrorCode = 'NOT_FOUND' | 'NOT_A_DRAFT' | 'INVALID_RULE_SET' | 'BAD_DOCUMENT' | 'BAD_INPUT';

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

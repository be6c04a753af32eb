/** `BAD_INPUT`: an argument that is not what it must be (a token id, a token name). */
export type AccessErrorCode = 'BAD_INPUT';

/** A request about tokens that cannot be carried out; the edges turn the code into a GraphQL code or exit status. */
export class AccessError extends Error {
  constructor(
    readonly code: AccessErrorCode,
    message: string,
  ) {
    super(message);
  }
}

import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';

/** A client sent something this API does not take; the message says what and the limit. */
export function badUserInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

/** A bounded integer argument (`first`, `sampleSize`): null takes the default. */
export function intArgument(name: string, value: number | null | undefined, fallback: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 0 || n > max) throw badUserInput(`${name} must be between 0 and ${max}, got ${n}`);
  return n;
}

/** An ID argument naming a row of a bigserial table: digits that fit a PostgreSQL bigint. */
export function numericIdArgument(name: string, value: string): string {
  if (!/^[1-9][0-9]{0,18}$/.test(value) || BigInt(value) > 9223372036854775807n) {
    throw badUserInput(`${name} must be a positive integer id, got ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`);
  }
  return value;
}

type Formatted = { statusCode: number; response: ExecutionResult };
type WithCause = { originalError?: unknown; extensions?: Record<string, unknown>; statusCode?: unknown; message: string };

/**
 * Mercurius's error formatter: every error a client gets has a code, and logs stay bounded.
 *
 * - An error with a code was translated on purpose at an edge (UNAUTHENTICATED, FORBIDDEN,
 *   BAD_USER_INPUT, QUERY_TOO_COSTLY, NOT_FOUND…): an expected outcome. It goes to the client as
 *   it is; the request writes at most one debug line counting the codes, never a stack.
 * - Parse, validation and variable errors get GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
 *   BAD_USER_INPUT (a variable that does not fit its type) or QUERY_TOO_LARGE / QUERY_TOO_DEEP.
 * - HTTP-level refusals from Fastify or Mercurius (body too large, wrong method) keep their
 *   status and message, with BAD_REQUEST.
 * - Anything else is a bug or an outage (a PostgreSQL error, a thrown TypeError): the client gets
 *   INTERNAL_SERVER_ERROR with an error id and no internal text; the request writes one error
 *   line with the first such error's stack, its id and how many there were.
 */
export function graphqlErrorFormatter(logger: Logger, maxTokens: number) {
  return (execution: ExecutionResult & { errors: readonly GraphQLError[] }, _context: unknown): Formatted => {
    const codes: Record<string, number> = {};
    let unexpected: { error: unknown; path: unknown; errorId: string; count: number } | undefined;
    const errors: GraphQLFormattedError[] = [];
    const expected = (e: GraphQLError | WithCause, code: string, message = e.message): void => {
      codes[code] = (codes[code] ?? 0) + 1;
      const formatted = e instanceof GraphQLError ? e.toJSON() : { message: e.message };
      errors.push({ ...formatted, message, extensions: { ...formatted.extensions, code } });
    };

    for (const error of execution.errors) {
      const cause = error.originalError as WithCause | undefined;
      const code = error.extensions?.code;
      if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
        expected(error, code);
      } else if (cause && Array.isArray((cause as { errors?: unknown }).errors)) {
        // Mercurius's MER_ERR_GQL_VALIDATION: parse, validation, depth and variable errors.
        for (const inner of (cause as unknown as { errors: Array<GraphQLError | WithCause> }).errors) {
          const [innerCode, message] = requestErrorCode(inner.message, maxTokens);
          expected(inner, typeof inner.extensions?.code === 'string' ? inner.extensions.code : innerCode, message);
        }
      } else if (typeof cause?.statusCode === 'number' && cause.statusCode >= 400 && cause.statusCode < 500) {
        expected(error, 'BAD_REQUEST');
      } else if (!cause && error.path === undefined) {
        // A GraphQLError of graphql-js itself outside execution (e.g. a variable coercion at subscribe).
        expected(error, 'BAD_USER_INPUT');
      } else {
        unexpected ??= { error: cause ?? error, path: error.path, errorId: randomBytes(6).toString('hex'), count: 0 };
        unexpected.count++;
        errors.push({
          message: `internal error (logged as ${unexpected.errorId})`,
          ...(error.locations ? { locations: error.locations } : {}),
          ...(error.path ? { path: error.path } : {}),
          extensions: { code: 'INTERNAL_SERVER_ERROR', errorId: unexpected.errorId },
        });
      }
    }

    if (unexpected) {
      const e = unexpected.error as Error;
      logger.error({ msg: `unexpected error answering a GraphQL request: ${e?.message ?? String(e)}`, errorId: unexpected.errorId, errors: unexpected.count, path: unexpected.path, stack: e?.stack });
    }
    if (Object.keys(codes).length > 0) logger.debug({ msg: 'GraphQL request answered with errors', codes });

    // As Mercurius's default formatter: 200 once there is data (graphql-over-http), else the
    // status of a single error that has one (400 for validation, 413 for a body too large).
    const first = execution.errors[0]?.originalError as WithCause | undefined;
    const statusCode = !execution.data && execution.errors.length === 1 && typeof first?.statusCode === 'number' ? first.statusCode : 200;
    return { statusCode, response: { data: execution.data ?? null, errors: errors as GraphQLError[] } };
  };
}

/** The code of an error Mercurius raised before execution, from its message (they carry none). */
function requestErrorCode(message: string, maxTokens: number): [string, string] {
  if (message.startsWith('Syntax Error: Document contains more tha')) {
    return ['QUERY_TOO_LARGE', `query is too large: more than ${maxTokens} tokens (names, punctuation and values); ask for fewer fields or aliases`];
  }
  if (message.startsWith('Syntax Error')) return ['GRAPHQL_PARSE_FAILED', message];
  if (/exceeds the query depth limit/.test(message)) return ['QUERY_TOO_DEEP', message];
  if (message.startsWith('Variable "$')) return ['BAD_USER_INPUT', message];
  return ['GRAPHQL_VALIDATION_FAILED', message];
}

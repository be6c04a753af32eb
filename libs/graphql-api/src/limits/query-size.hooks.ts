import { DocumentNode, GraphQLError, GraphQLSchema, Location, parse, specifiedRules, validate } from 'graphql';
import { ErrorWithProps, MercuriusContext } from 'mercurius';
import type { WebSocket } from 'ws';

/** Validation errors reported per document: each keeps a stack, and invalid documents are cached too. */
export const MAX_VALIDATION_ERRORS = 10;

function tooLong(length: number, max: number): ErrorWithProps {
  return new ErrorWithProps(`query is too large: ${length} characters, the limit is ${max}; send values as variables and ask for fewer fields`, { code: 'QUERY_TOO_LARGE' }, 400);
}

/**
 * preParsing: refuses a query text above `maxLength` before Mercurius parses, validates and
 * caches it. Tokens are bounded by the parser (`maxTokens`), but comments and string literals
 * are not tokens worth counting: the length bounds them, and with the cache size, memory.
 */
export function queryLengthLimit(maxLength: number) {
  return (_schema: GraphQLSchema, source: string): void => {
    if (source.length > maxLength) throw tooLong(source.length, maxLength);
  };
}

/** A document graphql-js parsed from text has Locations; one from JSON cannot. */
const parsedFromText = (document: DocumentNode | null | undefined): boolean => document?.loc instanceof Location;

/**
 * preValidation (documents not cached yet): when a text does not parse, Mercurius takes it for a
 * JSON syntax tree, which graphql-js then validates without checking its shape: `{}` or
 * `{"kind":"Document"}` was a TypeError, logged with its stack, per anonymous request.
 */
export function textDocumentsOnly(_schema: GraphQLSchema, document: DocumentNode): void {
  if (!parsedFromText(document)) throw new ErrorWithProps('the query must be GraphQL text, not JSON', { code: 'GRAPHQL_PARSE_FAILED' }, 400);
}

/** Set by the subscription context function of the module. */
const socketOf = (context: MercuriusContext): WebSocket | undefined => (context as MercuriusContext & { socket?: WebSocket }).socket;

/** graphql-ws close code for a connection that broke a limit (4400 Bad Request). */
export const LIMIT_CLOSE_CODE = 4400;

/**
 * Mercurius parses a subscription's document without limits and does not validate it (only its
 * depth): these hooks give subscriptions the limits queries have. They also bound the
 * subscriptions of one connection: Mercurius keeps each started one (even a refused one) until
 * the connection closes, so a connection that starts more than `maxPerConnection` is closed.
 */
export function subscriptionLimits(limits: { maxLength: number; maxTokens: number; maxPerConnection: number }) {
  const started = new WeakMap<WebSocket, Set<string>>();
  return {
    preSubscriptionParsing: (_schema: GraphQLSchema, source: string): void => {
      if (source.length > limits.maxLength) throw tooLong(source.length, limits.maxLength);
      try {
        parse(source, { maxTokens: limits.maxTokens, noLocation: true });
      } catch (e) {
        if (/contains more tha/.test((e as Error).message)) {
          throw new ErrorWithProps(`query is too large: more than ${limits.maxTokens} tokens; ask for fewer fields`, { code: 'QUERY_TOO_LARGE' }, 400);
        }
        throw new ErrorWithProps((e as Error).message, { code: 'GRAPHQL_PARSE_FAILED' }, 400);
      }
    },
    preSubscriptionExecution: (schema: GraphQLSchema, document: DocumentNode, context: MercuriusContext, id: string | number): void => {
      const socket = socketOf(context);
      if (socket) {
        let ids = started.get(socket);
        if (!ids) started.set(socket, (ids = new Set()));
        ids.add(String(id));
        if (ids.size > limits.maxPerConnection) {
          socket.close(LIMIT_CLOSE_CODE, `more than ${limits.maxPerConnection} subscriptions on one connection`);
          throw new ErrorWithProps(`more than ${limits.maxPerConnection} subscriptions on one connection: it is closed`, { code: 'BAD_USER_INPUT' }, 400);
        }
      }
      // A query sent as a JSON syntax tree escaped the length and token limits (and its shape is unchecked).
      if (!parsedFromText(document)) throw new ErrorWithProps('the query must be GraphQL text, not JSON', { code: 'GRAPHQL_PARSE_FAILED' }, 400);
      const errors = validate(schema, document, specifiedRules, { maxErrors: MAX_VALIDATION_ERRORS });
      if (errors.length > 0) {
        const first: GraphQLError = errors[0];
        throw new ErrorWithProps(first.message, { code: 'GRAPHQL_VALIDATION_FAILED' }, 400);
      }
    },
    onSubscriptionEnd: (context: MercuriusContext, id: string | number): void => {
      const socket = socketOf(context);
      if (socket) started.get(socket)?.delete(String(id));
    },
  };
}

import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, ValidationRule } from 'graphql';

/**
 * GRAPHQL_MAX_DEPTH as a validation rule that leaves `__schema` out of the count: GraphiQL's (and
 * every client generator's) introspection query is about 15 deep, and the schema itself is never
 * deeper than 6. Introspection stays bounded by the query length and token limits, and `__type`
 * (which a client can nest at will) still counts. Fragments count as they are spread.
 */
export function queryDepthLimit(maxDepth: number): ValidationRule {
  return maxDepthRule({
    n: maxDepth,
    ignoreIntrospection: true,
    propagateOnRejection: false,
    onReject: [
      (context, error) => {
        const refusal = new GraphQLError(`query is too deep: ${error.message.replace(/^Syntax Error: /, '')} (GRAPHQL_MAX_DEPTH); nest fewer fields`, {
          extensions: { code: 'QUERY_TOO_DEEP' },
        });
        // The rule is always run by graphql's validate, which passes its context.
        if (!context) throw refusal;
        context.reportError(refusal);
      },
    ],
  });
}

import { DocumentNode, GraphQLSchema } from 'graphql';
import { ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import { ErrorWithProps } from 'mercurius';

/**
 * Cost = one per field, times the page size for list fields that take `first` or `ids`, so that
 * `customersByStatus(first: 500) { history(first: 500) }` is priced like the work it causes.
 */
const estimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const n = typeof args.first === 'number' ? args.first : Array.isArray(args.ids) ? args.ids.length : 1;
  return 1 + childComplexity * Math.max(n, 1);
};

/**
 * A Mercurius preExecution hook refusing queries above `maxCost`. A hook rather than a validation
 * rule so that Mercurius keeps caching parsed and validated queries (it needs the variables).
 */
export function queryCostLimit(maxCost: number) {
  return (schema: GraphQLSchema, document: DocumentNode, _context: unknown, variables: Record<string, unknown> | undefined): void => {
    const cost = getComplexity({ schema, query: document, variables: variables ?? {}, estimators: [estimator] });
    if (cost > maxCost) {
      throw new ErrorWithProps(`query is too costly: cost ${cost} is above the limit of ${maxCost}; ask for fewer items or fields`, { code: 'QUERY_TOO_COSTLY' }, 400);
    }
  };
}

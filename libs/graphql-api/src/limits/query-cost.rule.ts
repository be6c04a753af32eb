import { DocumentNode, GraphQLSchema, Kind, visit } from 'graphql';
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
  // Mercurius hands the same parsed document for the same query text, so a cost that does not
  // depend on variables is computed once per query, not per request.
  const fixed = new WeakMap<DocumentNode, number>();
  return (schema: GraphQLSchema, document: DocumentNode, _context: unknown, variables: Record<string, unknown> | undefined): void => {
    let cost = fixed.get(document);
    if (cost === undefined) {
      cost = getComplexity({ schema, query: document, variables: variables ?? {}, estimators: [estimator] });
      if (!costDependsOnVariables(document)) fixed.set(document, cost);
    }
    if (cost > maxCost) {
      throw new ErrorWithProps(`query is too costly: cost ${cost} is above the limit of ${maxCost}; ask for fewer items or fields`, { code: 'QUERY_TOO_COSTLY' }, 400);
    }
  };
}

/** True when a `first` or `ids` argument takes a variable: then the cost depends on the request. */
function costDependsOnVariables(document: DocumentNode): boolean {
  let depends = false;
  visit(document, {
    Argument(node) {
      if ((node.name.value === 'first' || node.name.value === 'ids') && (node.value.kind === Kind.VARIABLE || node.value.kind === Kind.LIST)) {
        depends = depends || node.value.kind === Kind.VARIABLE || node.value.values.some((v) => v.kind === Kind.VARIABLE);
      }
    },
    FragmentSpread() {
      depends = true;
    },
  });
  return depends;
}

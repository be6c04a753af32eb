import { ASTNode, DocumentNode, GraphQLError, GraphQLSchema, visit } from 'graphql';
import { ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import { ErrorWithProps } from 'mercurius';

/** What one database query costs, in fields read from the cached view. */
export const DATABASE_QUERY_COST = 100;

/**
 * Database queries each occurrence of a field causes, whatever it is nested in: DataLoader batches
 * one occurrence over all its parents (`history` under 500 customers is one query), but every
 * alias or occurrence runs its own. Fields not listed are read from the Redis view (`customer`,
 * `customers`: one round trip per request, batched) or from their parent, and cost nothing here.
 * A unit spec checks that every root field is priced (here or in CACHED_ROOT_FIELDS).
 */
export const DATABASE_QUERIES: Readonly<Record<string, number>> = {
  'Query.statusCounts': 1,
  'Query.unmappedValues': 1,
  'Query.unmappedTotals': 1,
  'Query.customersByStatus': 2, // the page and the total count
  'Query.lastReconcileReport': 1,
  'Query.ruleSetVersions': 2,
  'Query.ruleSetVersion': 2,
  'Query.activeRuleSet': 2,
  'Query.validateRuleSet': 5, // the examples, then stored raw values per mapping table
  'Query.ruleSetProblems': 5,
  'Query.ruleSetPreview': 20, // evaluates the draft over every stored customer: two fit in one request
  'Query.reprojection': 1,
  'Query.ruleSetAudit': 1,
  'Query.apiTokens': 1,
  'Query.instances': 1, // one Redis hash
  'Query.ruleSetDiff': 4, // two versions
  'Query.me': 0, // the request's own token, already verified
  'Customer.history': 1,
  'Customer.historyTrimmedUntil': 1, // one query for every customer of the request
  'Customer.explanation': 1, // the rule set version that evaluated it, when not cached
  'Mutation.createRuleSetDraft': 3,
  'Mutation.updateRuleSetDraft': 3,
  'Mutation.validateRuleSetDraft': 5,
  'Mutation.previewRuleSetDraft': 20,
  'Mutation.publishRuleSet': 20, // validation, then a reprojection of every customer
  'Mutation.rollbackRuleSet': 20,
  'Mutation.createApiToken': 1,
  'Mutation.revokeApiToken': 1,
};

/** Root fields answered from the Redis view, batched over the whole request. */
export const CACHED_ROOT_FIELDS: ReadonlySet<string> = new Set(['Query.customer', 'Query.customers']);

/** The arguments the size estimate reads; a variable in one of them (or in a directive) makes the cost depend on the request. */
const SIZE_ARGUMENTS = new Set(['first', 'ids']);

/**
 * Fields (and items) returned: one per field, times the page size for list fields that take
 * `first` or `ids`, so that `customersByStatus(first: 500) { history(first: 500) }` is priced
 * like the rows it returns.
 */
const fieldsReturned: ComplexityEstimator = ({ args, field, childComplexity }) => {
  const first = typeof args.first === 'number' ? args.first : field.args.find((a) => a.name === 'first')?.defaultValue;
  const n = typeof first === 'number' ? first : Array.isArray(args.ids) ? args.ids.length : 1;
  return 1 + childComplexity * Math.max(n, 1);
};

/** Database queries: summed over occurrences, not multiplied by the parent's size (see DATABASE_QUERIES). */
const databaseQueries: ComplexityEstimator = ({ type, field, childComplexity }) => (DATABASE_QUERIES[`${type.name}.${field.name}`] ?? 0) + childComplexity;

export interface QueryCost {
  cost: number;
  fields: number;
  databaseQueries: number;
}

/** The cost of a document with these variables: fields returned + DATABASE_QUERY_COST per database query. */
export function queryCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): QueryCost {
  try {
    const fields = getComplexity({ schema, query: document, variables, estimators: [fieldsReturned] });
    const queries = getComplexity({ schema, query: document, variables, estimators: [databaseQueries] });
    return { cost: fields + queries * DATABASE_QUERY_COST, fields, databaseQueries: queries };
  } catch (e) {
    // getComplexity refuses what it cannot price: a fragment explosion past its node limit, or
    // variables that do not fit another operation of the document.
    const message = e instanceof GraphQLError ? e.message : String(e);
    throw new ErrorWithProps(`query cannot be priced: ${message}`, { code: /maximum allowed number of nodes/.test(message) ? 'QUERY_TOO_COSTLY' : 'BAD_USER_INPUT' }, 400);
  }
}

/**
 * A Mercurius preExecution hook refusing queries above `maxCost`. A hook rather than a validation
 * rule so that Mercurius keeps caching parsed and validated queries (it needs the variables).
 */
export function queryCostLimit(maxCost: number) {
  // Mercurius hands the same parsed document for the same query text: a cost that does not
  // depend on variables (the common `customer(id: $id)`) is computed once per query text.
  const fixed = new WeakMap<DocumentNode, QueryCost | null>();
  return (schema: GraphQLSchema, document: DocumentNode, _context: unknown, variables: Record<string, unknown> | undefined): void => {
    let cost = fixed.get(document);
    if (cost === undefined) {
      const dependent = costDependsOnVariables(document);
      cost = queryCost(schema, document, variables ?? {});
      fixed.set(document, dependent ? null : cost);
    } else if (cost === null) {
      cost = queryCost(schema, document, variables ?? {});
    }
    if (cost.cost > maxCost) {
      throw new ErrorWithProps(
        `query is too costly: cost ${cost.cost} (${cost.fields} fields and items, ${cost.databaseQueries} database queries at ${DATABASE_QUERY_COST} each) ` +
          `is above the limit of ${maxCost}; ask for fewer items, fields or aliases`,
        { code: 'QUERY_TOO_COSTLY' },
        400,
      );
    }
  };
}

/**
 * True when the cost can change with the variables: a variable in a directive (`@include(if: $on)`
 * decides whether a whole subtree runs) or in an argument the size estimate reads. Fragments are
 * definitions of the same document, so visiting the document covers them.
 */
export function costDependsOnVariables(document: DocumentNode): boolean {
  let depends = false;
  const hasVariable = (node: ASTNode): boolean => {
    let found = false;
    visit(node, {
      Variable() {
        found = true;
      },
    });
    return found;
  };
  visit(document, {
    Directive(node) {
      if (node.arguments?.some((a) => hasVariable(a.value))) depends = true;
    },
    Argument(node) {
      if (SIZE_ARGUMENTS.has(node.name.value) && hasVariable(node.value)) depends = true;
    },
  });
  return depends;
}

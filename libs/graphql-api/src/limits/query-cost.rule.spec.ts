import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, GraphQLObjectType, parse } from 'graphql';
import { projectRoot } from '@app/config';
import { CACHED_ROOT_FIELDS, costDependsOnVariables, DATABASE_QUERIES, DATABASE_QUERY_COST, queryCost } from './query-cost.rule';

const dir = join(projectRoot(), 'schema');
const schema = buildSchema(
  readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n'),
);

describe('query cost', () => {
  it('prices every root field: by its database queries, or as read from the cached view', () => {
    const roots = [schema.getQueryType(), schema.getMutationType()].flatMap((t) => Object.keys((t as GraphQLObjectType).getFields()).map((f) => `${t!.name}.${f}`));
    expect(roots.filter((f) => !(f in DATABASE_QUERIES) && !CACHED_ROOT_FIELDS.has(f))).toEqual([]);
    // And nothing priced that the schema does not have (a renamed field would silently be free).
    const known = (key: string) => {
      const [type, field] = key.split('.');
      return field in ((schema.getType(type) as GraphQLObjectType | undefined)?.getFields() ?? {});
    };
    expect([...Object.keys(DATABASE_QUERIES), ...CACHED_ROOT_FIELDS].filter((k) => !known(k))).toEqual([]);
  });

  it.each<[string, string, Record<string, unknown>, { fields: number; databaseQueries: number }]>([
    ['one customer from the view', 'query($id: ID!) { customer(id: $id) { id status } }', { id: 'C-1' }, { fields: 3, databaseQueries: 0 }],
    ['aliases of a view field', '{ a: customer(id: "1") { id } b: customer(id: "2") { id } }', {}, { fields: 4, databaseQueries: 0 }],
    ['aliases of a SQL field, one query each', '{ a: statusCounts { count } b: statusCounts { count } c: statusCounts { count } }', {}, { fields: 6, databaseQueries: 3 }],
    ['history batched over a page: one query, rows multiplied', '{ customersByStatus(status: "A", first: 10) { edges { node { history(first: 5) { to } } } } }', {}, { fields: 1 + 10 * (1 + (1 + (1 + 5))), databaseQueries: 3 }],
    ['a skipped subtree costs nothing', 'query($on: Boolean!) { statusCounts @include(if: $on) { count } }', { on: false }, { fields: 0, databaseQueries: 0 }],
    ['an included one costs', 'query($on: Boolean!) { statusCounts @include(if: $on) { count } }', { on: true }, { fields: 2, databaseQueries: 1 }],
    ['a fragment spread twice counts twice', '{ ...F ...F } fragment F on Query { unmappedValues(first: 1) { value } }', {}, { fields: 4, databaseQueries: 2 }],
    ['unmappedValues is priced by its first, 100 by default', '{ unmappedValues { value } unmappedTotals { values records } }', {}, { fields: 104, databaseQueries: 2 }],
  ])('%s', (_name, query, variables, expected) => {
    const cost = queryCost(schema, parse(query), variables);
    expect(cost).toEqual({ ...expected, cost: expected.fields + expected.databaseQueries * DATABASE_QUERY_COST });
  });

  it.each<[string, boolean]>([
    ['query($id: ID!) { customer(id: $id) { id status history { to } } }', false],
    ['{ customersByStatus(status: "A", first: 5) { totalCount } }', false],
    ['{ ...F } fragment F on Query { statusCounts { count } }', false],
    ['query($n: Int) { customersByStatus(status: "A", first: $n) { totalCount } }', true],
    ['query($ids: [ID!]!) { customers(ids: $ids) { id } }', true],
    ['query($id: ID!) { customers(ids: [$id, "x"]) { id } }', true],
    ['query($on: Boolean!) { statusCounts @include(if: $on) { count } }', true],
    ['query($off: Boolean!) { ...F } fragment F on Query { statusCounts @skip(if: $off) { count } }', true],
    ['query($n: Int) { ...F } fragment F on Query { customer(id: "1") { history(first: $n) { to } } }', true],
  ])('cost of %s depends on the variables: %s', (query, expected) => {
    expect(costDependsOnVariables(parse(query))).toBe(expected);
  });
});

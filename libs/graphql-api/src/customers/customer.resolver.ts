import { Args, Context, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Inject, UseGuards } from '@nestjs/common';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { ActiveRuleSet, ProjectionQueries } from '@app/projection';
import { badUserInput, intArgument } from '../errors/graphql-errors';
import { CustomerConnection, Explanation, StatusChange, StatusCount, UnmappedTotals, UnmappedValue } from '../generated/graphql';
import { RequiresRole, RolesGuard } from '../auth/roles.guard';
import { requireRole } from '../auth/request-auth';
import { toGraphqlError } from '../rules/rule-set.mapper';
import { DraftExplanationService } from '@app/rules-admin';
import { explain } from './customer-explanation';
import { CustomerIdNormalizer } from './customer-id.normalizer';
import { GraphqlContext } from './customer.loaders';
import { CustomerModel, decodeCursor, encodeCursor, toCustomer, toStatusChange } from './customer.mapper';

@Resolver('Query')
@UseGuards(RolesGuard)
@RequiresRole('viewer')
export class CustomerQueryResolver {
  constructor(
    private readonly queries: ProjectionQueries,
    private readonly ids: CustomerIdNormalizer,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  @Query('customer')
  async customer(@Args('id') id: string, @Context() ctx: GraphqlContext): Promise<CustomerModel | null> {
    const key = this.ids.normalize(id);
    if (key === null) return null;
    const view = await ctx.loaders.customer.load(key);
    return view ? toCustomer(view) : null;
  }

  @Query('customers')
  async customers(@Args('ids') ids: string[], @Context() ctx: GraphqlContext): Promise<Array<CustomerModel | null>> {
    const max = this.env.graphql.maxIds;
    if (ids.length > max) throw badUserInput(`customers(ids) takes at most ${max} ids, got ${ids.length}`);
    const keys = ids.map((id) => this.ids.normalize(id));
    const views = await ctx.loaders.customer.loadMany(keys.filter((k): k is string => k !== null));
    const byKey = new Map<string, CustomerModel | null>();
    for (const v of views) {
      if (v instanceof Error) throw v;
      if (v) byKey.set(v.id, toCustomer(v));
    }
    return keys.map((k) => (k === null ? null : (byKey.get(k) ?? null)));
  }

  @Query('customersByStatus')
  async customersByStatus(
    @Args('status') status: string,
    @Args('first', { type: () => Int, nullable: true }) first: number | null,
    @Args('after', { nullable: true }) after: string | null,
    @Context() ctx: GraphqlContext,
  ): Promise<Omit<CustomerConnection, 'edges'> & { edges: Array<{ cursor: string; node: CustomerModel }> }> {
    const size = intArgument('customersByStatus(first)', first, 50, this.env.graphql.maxPage);
    const afterId = after ? decodeCursor(after) : null;
    if (after && afterId === null) throw badUserInput('customersByStatus(after) is not a cursor of this API: pass a cursor or endCursor from an earlier page');
    const [page, totalCount] = await Promise.all([this.queries.customerIdsByStatus(status, size, afterId), this.queries.countByStatus(status)]);
    const views = await ctx.loaders.customer.loadMany(page.ids);
    const edges = views.flatMap((v) => {
      if (v instanceof Error) throw v;
      // A customer that changed status between the two reads is left out rather than shown wrongly.
      return v && v.status === status ? [{ cursor: encodeCursor(v.id), node: toCustomer(v) }] : [];
    });
    return {
      edges,
      totalCount,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: afterId !== null,
        startCursor: page.ids.length ? encodeCursor(page.ids[0]) : null,
        endCursor: page.ids.length ? encodeCursor(page.ids[page.ids.length - 1]) : null,
      },
    };
  }

  @Query('statusCounts')
  statusCounts(): Promise<StatusCount[]> {
    return this.queries.statusCounts();
  }

  @Query('unmappedTotals')
  unmappedTotals(): Promise<UnmappedTotals> {
    return this.queries.unmappedTotals();
  }

  @Query('unmappedValues')
  unmappedValues(@Args('first', { type: () => Int, nullable: true }) first: number | null): Promise<UnmappedValue[]> {
    return this.queries.unmappedValues(intArgument('unmappedValues(first)', first, 100, this.env.graphql.maxPage));
  }
}

@Resolver('Customer')
export class CustomerFieldsResolver {
  constructor(
    private readonly rules: ActiveRuleSet,
    private readonly drafts: DraftExplanationService,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  @ResolveField('explanation')
  async explanation(
    @Parent() customer: CustomerModel,
    @Args('version', { type: () => Int, nullable: true }) version: number | null | undefined,
    @Context() ctx: GraphqlContext,
  ): Promise<Explanation> {
    if (version === null || version === undefined) {
      const rules = await this.rules.version(customer.ruleSetVersion);
      return explain(customer, rules.compiled, rules.version);
    }
    // Another version's rules, drafts included, are the analysts'.
    requireRole(ctx.auth, 'analyst', this.env.graphql.allowAnonymousReads);
    try {
      return { ruleSetVersion: version, ...(await this.drafts.explain(version, customer.sources)) };
    } catch (e) {
      throw toGraphqlError(e);
    }
  }

  @ResolveField('history')
  async history(
    @Parent() customer: CustomerModel,
    @Args('first', { type: () => Int, nullable: true }) first: number | null,
    @Context() ctx: GraphqlContext,
  ): Promise<StatusChange[]> {
    const n = intArgument('history(first)', first, 20, this.env.graphql.maxPage);
    const changes = await ctx.loaders.history(n).load(customer.id);
    return changes.map(toStatusChange);
  }

  @ResolveField('historyTrimmedUntil')
  historyTrimmedUntil(@Parent() customer: CustomerModel, @Context() ctx: GraphqlContext): Promise<string | null> {
    return ctx.loaders.historyTrimmed.load(customer.id);
  }
}

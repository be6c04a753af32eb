import { UseGuards } from '@nestjs/common';
import { Args, Context, Int, Query, Resolver } from '@nestjs/graphql';
import { InstanceRegistry } from '@app/projection';
import { describeRuleSetDiff as describe, RuleSetDiff as Diff, RowDiff as Row } from '@app/rules';
import { RuleSetLifecycleService } from '@app/rules-admin';
import { RequiresRole, RolesGuard } from '../auth/roles.guard';
import { unauthenticated } from '../auth/request-auth';
import { GraphqlContext } from '../customers/customer.loaders';
import { DiffChange, Instance, Me, Role, RuleSetDiff } from '../generated/graphql';
import { toGraphqlError } from '../rules/rule-set.mapper';

/** What the console asks beyond the rules API: who is signed in, the instances, a diff of two versions. */
@Resolver()
@UseGuards(RolesGuard)
export class ConsoleResolver {
  constructor(
    private readonly admin: RuleSetLifecycleService,
    private readonly instanceRegistry: InstanceRegistry,
  ) {}

  /** No role needed: the console asks it to know what to offer; a bad token is told so. */
  @Query('me')
  me(@Context() ctx: GraphqlContext): Me | null {
    if (ctx.auth.kind === 'invalid') throw unauthenticated('the API token is not valid (revoked, mistyped, or not "Bearer <token>")');
    if (ctx.auth.kind === 'anonymous') return null;
    const p = ctx.auth.principal;
    return { tokenId: p.tokenId, name: p.name, role: p.role.toUpperCase() as Role };
  }

  @Query('instances')
  @RequiresRole('viewer')
  instances(): Promise<Instance[]> {
    return this.instanceRegistry.list();
  }

  @Query('ruleSetDiff')
  @RequiresRole('analyst')
  async ruleSetDiff(@Args('from', { type: () => Int }) from: number, @Args('to', { type: () => Int }) to: number): Promise<RuleSetDiff> {
    try {
      return toRuleSetDiff(await this.admin.diff(from, to));
    } catch (e) {
      throw toGraphqlError(e);
    }
  }
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const change = (c: Row['change']): DiffChange => c.toUpperCase() as DiffChange;

export function toRuleSetDiff(d: Diff & { from: number; to: number }, lines: string[] = describe(d)): RuleSetDiff {
  return {
    from: d.from,
    to: d.to,
    empty: d.empty,
    statusesAdded: d.statuses.added,
    statusesRemoved: d.statuses.removed,
    statusesReordered: d.statuses.reordered,
    tables: d.tables.map((t) => ({
      table: t.table,
      change: change(t.change),
      hitPolicyBefore: t.hitPolicy?.before ?? null,
      hitPolicyAfter: t.hitPolicy?.after ?? null,
      hitPolicyChanged: t.hitPolicy !== null,
      unmappedInputChanged: t.unmappedInput !== null,
      inputs: t.inputs.map((i) => ({
        name: i.name,
        change: change(i.change),
        typeBefore: i.typeBefore,
        typeAfter: i.typeAfter,
        allowedAdded: i.allowedAdded.map((v) => JSON.stringify(v)),
        allowedRemoved: i.allowedRemoved.map((v) => JSON.stringify(v)),
      })),
      rows: t.rows.map((r) => ({ id: r.id, change: change(r.change), beforeIndex: r.beforeIndex, afterIndex: r.afterIndex, cells: r.cells.map((c) => ({ column: c.column, before: json(c.before), after: json(c.after) })) })),
    })),
    examplesBefore: d.examples.before,
    examplesAfter: d.examples.after,
    examplesChanged: d.examples.changed,
    lines,
  };
}

import { UseGuards } from '@nestjs/common';
import { Args, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import { ReconcileReportStore } from '@app/backfill';
import { RequiresRole, RolesGuard } from '../auth/roles.guard';
import { ReconcileDifference, ReconcileReport } from '../generated/graphql';
import { toReconcileReport } from './reconcile-report.mapper';

const MAX_DIFFERENCES = 100;

/** `lastReconcileReport` (schema/reconcile.graphql): the reports the backfill library stores. */
@Resolver('Query')
@UseGuards(RolesGuard)
export class ReconcileQueryResolver {
  constructor(private readonly reports: ReconcileReportStore) {}

  @Query('lastReconcileReport')
  @RequiresRole('viewer')
  async lastReconcileReport(@Args('system', { nullable: true }) system: string | null): Promise<ReconcileReport | null> {
    const report = await this.reports.last(system ?? null);
    return report ? toReconcileReport(report) : null;
  }
}

@Resolver('ReconcileReport')
export class ReconcileReportFieldsResolver {
  @ResolveField('differences')
  differences(@Parent() report: ReconcileReport, @Args('first', { type: () => Int, nullable: true }) first: number | null): ReconcileDifference[] {
    const n = first ?? 20;
    if (!Number.isInteger(n) || n < 0 || n > MAX_DIFFERENCES) {
      throw new GraphQLError(`differences(first) must be between 0 and ${MAX_DIFFERENCES}, got ${n}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return (report.differences ?? []).slice(0, n);
  }
}

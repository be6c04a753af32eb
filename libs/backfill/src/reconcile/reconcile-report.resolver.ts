import { Args, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { SetMetadata, UseGuards } from '@nestjs/common';
import { GraphQLError } from 'graphql';
import { ReconcileAccessGuard } from './reconcile-access.guard';
import { ReconcileReportStore } from './reconcile-report.store';
import { ReconcileDifferenceGql, ReconcileReportGql, toReconcileReportGql } from './reconcile-report.mapper';

const MAX_DIFFERENCES = 100;

/**
 * Mirrors `@RequiresRole('viewer')` of @app/graphql-api (same metadata key, read by its RolesGuard),
 * which this library cannot import: graphql-api imports this library.
 */
const RequiresViewer = () => SetMetadata('statusview:role', 'viewer');

@Resolver('Query')
@UseGuards(ReconcileAccessGuard)
export class ReconcileQueryResolver {
  constructor(private readonly reports: ReconcileReportStore) {}

  @Query('lastReconcileReport')
  @RequiresViewer()
  async lastReconcileReport(@Args('system', { nullable: true }) system: string | null): Promise<ReconcileReportGql | null> {
    const report = await this.reports.last(system ?? null);
    return report ? toReconcileReportGql(report) : null;
  }
}

@Resolver('ReconcileReport')
export class ReconcileReportFieldsResolver {
  @ResolveField('differences')
  differences(@Parent() report: ReconcileReportGql, @Args('first', { type: () => Int, nullable: true }) first: number | null): ReconcileDifferenceGql[] {
    const n = first ?? 20;
    if (!Number.isInteger(n) || n < 0 || n > MAX_DIFFERENCES) {
      throw new GraphQLError(`differences(first) must be between 0 and ${MAX_DIFFERENCES}, got ${n}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return report.differences.slice(0, n);
  }
}

import { Module } from '@nestjs/common';
import { ReconcileReportStore } from './reconcile-report.store';
import { ReconcileDriftSource } from './reconcile.metrics';

/**
 * The stored reports of reconcile runs, for the service: ReconcileReportStore for GraphQL's
 * `lastReconcileReport`, and the drift gauge at /metrics from the same reports. This library owns
 * the `reconcile_report` table; others read it through the store. Needs BackfillDatabaseModule.
 */
@Module({
  providers: [ReconcileReportStore, ReconcileDriftSource],
  exports: [ReconcileReportStore],
})
export class ReconcileReportsModule {}

import { Module } from '@nestjs/common';
import { ReconcileReportFieldsResolver, ReconcileQueryResolver } from './reconcile-report.resolver';
import { ReconcileReportStore } from './reconcile-report.store';

/** `lastReconcileReport` (schema/reconcile.graphql); import it into the GraphQL module. Needs the projection module. */
@Module({ providers: [ReconcileReportStore, ReconcileQueryResolver, ReconcileReportFieldsResolver] })
export class ReconcileGraphqlModule {}

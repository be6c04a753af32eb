import { CanActivate, DynamicModule, Module, Type } from '@nestjs/common';
import { ReconcileAccessGuard, RECONCILE_ROLE_GUARD } from './reconcile-access.guard';
import { ReconcileReportFieldsResolver, ReconcileQueryResolver } from './reconcile-report.resolver';
import { ReconcileReportStore } from './reconcile-report.store';
import { ReconcileDriftSource } from './reconcile.metrics';

/**
 * `lastReconcileReport` (schema/reconcile.graphql), and the drift gauge at /metrics from the same
 * stored reports. Imported by the GraphQL module with its role
 * guard: `ReconcileGraphqlModule.forRoot({ roleGuard: RolesGuard })`. Needs BackfillDatabaseModule.
 */
@Module({})
export class ReconcileGraphqlModule {
  static forRoot(options: { roleGuard: Type<CanActivate> }): DynamicModule {
    return {
      module: ReconcileGraphqlModule,
      providers: [
        { provide: RECONCILE_ROLE_GUARD, useClass: options.roleGuard },
        ReconcileAccessGuard,
        ReconcileReportStore,
        ReconcileQueryResolver,
        ReconcileReportFieldsResolver,
        ReconcileDriftSource,
      ],
    };
  }
}

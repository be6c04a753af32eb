import { DynamicModule, Module } from '@nestjs/common';
import { BackfillCheckpointStore } from './backfill/backfill-checkpoint.store';
import { BackfillUseCase } from './backfill/backfill.use-case';
import { LegacyEventBuilder } from './backfill/legacy-event.builder';
import { LEGACY_ENV, LegacyEnv, LegacySourceFactory } from './legacy/legacy-source.factory';
import { ReconcileReportStore } from './reconcile/reconcile-report.store';
import { ReconcileMetrics } from './reconcile/reconcile.metrics';
import { ReconcileUseCase } from './reconcile/reconcile.use-case';

/**
 * Backfill and reconcile. Needs the configuration, projection and backfill database modules (all
 * global) in the same application; `legacyEnv` is where the legacy URLs' variables are read.
 */
@Module({})
export class BackfillModule {
  static forRoot(options: { legacyEnv: LegacyEnv }): DynamicModule {
    return {
      module: BackfillModule,
      providers: [
        { provide: LEGACY_ENV, useValue: options.legacyEnv },
        LegacySourceFactory,
        LegacyEventBuilder,
        BackfillCheckpointStore,
        BackfillUseCase,
        ReconcileReportStore,
        ReconcileMetrics,
        ReconcileUseCase,
      ],
      exports: [LegacySourceFactory, BackfillCheckpointStore, BackfillUseCase, ReconcileReportStore, ReconcileMetrics, ReconcileUseCase],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackfillAndReconcile1732700000000 } from './1732700000000-backfill-and-reconcile';

/** The connection to the database that holds this library's own tables: checkpoints and reconcile reports. */
export const BACKFILL_DATA_SOURCE = Symbol('BACKFILL_DATA_SOURCE');

/** This library's migrations: the process entry runs them with the others of its database. */
export const backfillMigrations = [BackfillAndReconcile1732700000000];

/**
 * Gives backfill's stores their connection. Imported once by the process entry (the service, the
 * CLI's contexts), which decides where these tables live; global so that the reconcile report
 * store behind GraphQL reaches it too.
 */
@Module({})
export class BackfillDatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: BackfillDatabaseModule,
      global: true,
      providers: [{ provide: BACKFILL_DATA_SOURCE, useValue: dataSource }],
      exports: [BACKFILL_DATA_SOURCE],
    };
  }
}

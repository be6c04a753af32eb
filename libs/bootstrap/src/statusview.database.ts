import { DataSource } from 'typeorm';
import { backfillMigrations } from '@app/backfill';
import { Migrations, openDatabase, projectionMigrations } from '@app/projection';

/**
 * Every library's migrations for the statusview database: each library keeps its own (and its
 * tables), and the processes assemble them here, so that no library imports another's to migrate.
 */
export const statusviewMigrations: Migrations = [...projectionMigrations, ...backfillMigrations];

/** Connects, creating the database if needed, and runs every library's pending migrations. */
export function openStatusviewDatabase(url: string, poolSize?: number): Promise<DataSource> {
  return openDatabase(url, poolSize, statusviewMigrations);
}

import { BackfillAndReconcile1732700000000 } from './1732700000000-backfill-and-reconcile';

/** This library's migrations: the process entry runs them with the others of its database. */
export const backfillMigrations = [BackfillAndReconcile1732700000000];

/**
 * The migrations of this library, as a public entry of their own (`@app/backfill/migrations`):
 * the projection's migration list imports it, and importing all of `@app/backfill` from there
 * would make a cycle (this library uses the projection).
 */
export { BackfillAndReconcile1732700000000 } from './1732700000000-backfill-and-reconcile';

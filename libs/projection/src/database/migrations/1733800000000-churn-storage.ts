import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Storage for the tables that change on every event, so that a months-long run keeps them near
 * their live size:
 * - status_outbox takes an insert and a delete per status change and is nearly empty when
 *   drained: the default (vacuum after 20% of the table is dead) lets a small table pile up dead
 *   rows faster than it is vacuumed, so it is vacuumed after a fixed 1,000 dead rows, unthrottled.
 * - customer and source_record are updated in place on every event: pages keep 15% free
 *   (fillfactor 85) so an update that changes no indexed column stays on its page (a HOT update,
 *   no index entry), and they are vacuumed after 2% of their rows are dead instead of 20%.
 * fillfactor applies to pages written from now on; nothing is rewritten.
 */
export class ChurnStorage1733800000000 implements MigrationInterface {
  name = 'ChurnStorage1733800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE status_outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0)');
    for (const table of ['customer', 'source_record']) {
      await q.query(`ALTER TABLE ${table} SET (fillfactor = 85, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE status_outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay)');
    for (const table of ['customer', 'source_record']) {
      await q.query(`ALTER TABLE ${table} RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)`);
    }
  }
}

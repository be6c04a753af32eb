import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A customer that loses its last live record is published as a removal (`removed`: its last
 * status as `from` and `to`), so that subscribers and the broker's consumers learn it is gone;
 * a removal is not a status change, so it is not in status_history.
 */
export class CustomerRemovals1733820000000 implements MigrationInterface {
  name = 'CustomerRemovals1733820000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE status_outbox ADD COLUMN removed boolean NOT NULL DEFAULT false');
    await q.query('ALTER TABLE status_outbox_dead ADD COLUMN removed boolean NOT NULL DEFAULT false');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE status_outbox DROP COLUMN removed');
    await q.query('ALTER TABLE status_outbox_dead DROP COLUMN removed');
  }
}

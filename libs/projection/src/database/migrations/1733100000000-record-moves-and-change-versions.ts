import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `source_record.left_customer_id`: the customer a record left in the change last applied to it
 * (null when it did not move). The upsert sets it from the row it locked and returns it, so a
 * writer learns the customer a record left even when that record was inserted by a transaction
 * its snapshot cannot see (two batches in flight, two instances). `status_outbox.customer_version`:
 * the customer's version after the change, carried by every published status change so that a
 * consumer can drop an older change arriving after a newer one; `status_history` keeps it too.
 */
export class RecordMovesAndChangeVersions1733100000000 implements MigrationInterface {
  name = 'RecordMovesAndChangeVersions1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE source_record ADD COLUMN left_customer_id text COLLATE "C"`);
    await q.query(`ALTER TABLE status_outbox ADD COLUMN customer_version bigint`);
    await q.query(`ALTER TABLE status_history ADD COLUMN IF NOT EXISTS customer_version bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE status_history DROP COLUMN customer_version`);
    await q.query(`ALTER TABLE status_outbox DROP COLUMN customer_version`);
    await q.query(`ALTER TABLE source_record DROP COLUMN left_customer_id`);
  }
}

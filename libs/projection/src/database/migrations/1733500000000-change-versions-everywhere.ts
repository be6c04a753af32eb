import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The customer's version of a status change in history and in parked outbox rows, for databases
 * that ran an earlier draft of migrations 1733100000000 and 1733300000000 (development databases of
 * the same release): a no-op where the columns exist.
 */
export class ChangeVersionsEverywhere1733500000000 implements MigrationInterface {
  name = 'ChangeVersionsEverywhere1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE status_history ADD COLUMN IF NOT EXISTS customer_version bigint`);
    await q.query(`ALTER TABLE status_outbox_dead ADD COLUMN IF NOT EXISTS customer_version bigint`);
  }

  async down(): Promise<void> {
    // The columns belong to 1733100000000 and 1733300000000, which drop them.
  }
}

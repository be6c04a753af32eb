import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys compare as bytes (`COLLATE "C"`), as the reconcile already orders them: an identifier has no
 * language, and the indexes on them compare with memcmp instead of the locale's rules. And the
 * times a write stamps default to the transaction's time, so that the backfill's COPY leaves them
 * out (PostgreSQL parsed six timestamps a row; measured in docs/benchmarks.md). Changing the
 * collation rebuilds the indexes on those columns, under an exclusive lock on the four tables.
 */
export class ByteKeysAndWriteTimes1732900000000 implements MigrationInterface {
  name = 'ByteKeysAndWriteTimes1732900000000';

  async up(q: QueryRunner): Promise<void> {
    const bytes = (...columns: string[]) => columns.map((c) => `ALTER COLUMN ${c} TYPE text COLLATE "C"`).join(', ');
    await q.query(`ALTER TABLE customer ${bytes('id', 'status')}, ALTER COLUMN status_since SET DEFAULT now(), ALTER COLUMN updated_at SET DEFAULT now()`);
    await q.query(`ALTER TABLE source_record ${bytes('system', 'record_key', 'customer_id', 'unmapped_field', 'unmapped_value')}`);
    await q.query(`ALTER TABLE status_history ${bytes('customer_id')}, ALTER COLUMN at SET DEFAULT now()`);
    await q.query(`ALTER TABLE status_outbox ${bytes('customer_id')}, ALTER COLUMN at SET DEFAULT now()`);
    // A reprojection left running walks customers by id from where it stopped: under another
    // order that would skip some and repeat others, so it starts over (repeating changes nothing).
    await q.query(`UPDATE reprojection SET last_customer = NULL, processed = 0 WHERE state = 'running'`);
  }

  async down(q: QueryRunner): Promise<void> {
    const locale = (...columns: string[]) => columns.map((c) => `ALTER COLUMN ${c} TYPE text COLLATE "default"`).join(', ');
    await q.query(`ALTER TABLE status_outbox ${locale('customer_id')}, ALTER COLUMN at DROP DEFAULT`);
    await q.query(`ALTER TABLE status_history ${locale('customer_id')}, ALTER COLUMN at DROP DEFAULT`);
    await q.query(`ALTER TABLE source_record ${locale('system', 'record_key', 'customer_id', 'unmapped_field', 'unmapped_value')}`);
    await q.query(`ALTER TABLE customer ${locale('id', 'status')}, ALTER COLUMN status_since DROP DEFAULT, ALTER COLUMN updated_at DROP DEFAULT`);
  }
}

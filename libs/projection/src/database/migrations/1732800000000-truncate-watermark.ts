import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The position of the last truncate of each system. A record that a truncate did not find (not
 * stored yet) but whose event is older than it, e.g. a backfilled row or a batch committed out of
 * order, is stored deleted: the truncate happened after it.
 */
export class TruncateWatermark1732800000000 implements MigrationInterface {
  name = 'TruncateWatermark1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE source_truncate (
        system         text        PRIMARY KEY,
        position_kind  text        NOT NULL,
        position_key   text        NOT NULL,
        position       text        NOT NULL,
        source_ts      timestamptz,
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE source_truncate');
  }
}

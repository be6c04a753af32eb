import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far each source without a broker (a MySQL binlog) has been projected: one row per source,
 * written in the transaction of the batch it follows, so that after a crash the source resumes
 * exactly after what was committed. `position_key` is a SourcePosition key (it only moves
 * forward within one kind); `position` its text, from which the source resumes (`file:pos:row`).
 */
export class SourceCheckpoints1733700000000 implements MigrationInterface {
  name = 'SourceCheckpoints1733700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE source_checkpoint (
        source         text        PRIMARY KEY,
        position_kind  text        NOT NULL,
        position_key   text        NOT NULL,
        position       text        NOT NULL,
        source_ts      timestamptz,
        gtid           text,
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE source_checkpoint');
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a direct source (a replication stream, a binlog: no broker, so no dead-letter queue) could
 * not project, with why, for an operator. `ref` names the change in its source's log (an lsn, a
 * binlog file:pos and row); a change dead-lettered again after a restart is kept once. The
 * payload is JSON as text (a legacy row may hold what jsonb refuses, such as U+0000).
 */
export class DirectDeadLetters1733600000000 implements MigrationInterface {
  name = 'DirectDeadLetters1733600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE direct_dead_letter (
        id       bigserial   PRIMARY KEY,
        source   text        NOT NULL,
        ref      text        NOT NULL,
        code     text        NOT NULL,
        reason   text        NOT NULL,
        payload  text,
        at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (source, ref)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE direct_dead_letter');
  }
}

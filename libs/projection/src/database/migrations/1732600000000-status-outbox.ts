import { MigrationInterface, QueryRunner } from 'typeorm';

/** Canonical status changes waiting to be published, written in the same transaction as the change. */
export class StatusOutbox1732600000000 implements MigrationInterface {
  name = 'StatusOutbox1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE status_outbox (
        id                bigserial   PRIMARY KEY,
        customer_id       text        NOT NULL,
        from_status       text,
        to_status         text        NOT NULL,
        reason            text        NOT NULL,
        rule_set_version  integer     NOT NULL,
        at                timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE status_outbox');
  }
}

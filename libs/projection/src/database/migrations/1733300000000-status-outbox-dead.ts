import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Status changes that can never be published (RabbitMQ cannot take their routing key, or they
 * cannot be encoded), moved out of the outbox with the reason, so that they do not hold back the
 * changes after them. Kept for an operator: `id` is the outbox id, so the message id
 * (`status-change-<id>`) stays the same if one is ever put back.
 */
export class StatusOutboxDead1733300000000 implements MigrationInterface {
  name = 'StatusOutboxDead1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE status_outbox_dead (
        id                bigint      PRIMARY KEY,
        customer_id       text        COLLATE "C" NOT NULL,
        from_status       text,
        to_status         text        NOT NULL,
        reason            text        NOT NULL,
        rule_set_version  integer     NOT NULL,
        at                timestamptz NOT NULL,
        customer_version  bigint,
        error             text        NOT NULL,
        parked_at         timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE status_outbox_dead');
  }
}

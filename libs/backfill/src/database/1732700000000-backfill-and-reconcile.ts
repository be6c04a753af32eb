import { MigrationInterface, QueryRunner } from 'typeorm';

/** Backfill checkpoints (for --resume) and the reconcile reports that GraphQL serves. */
export class BackfillAndReconcile1732700000000 implements MigrationInterface {
  name = 'BackfillAndReconcile1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE backfill_checkpoint (
        system             text        PRIMARY KEY,
        source_block       jsonb       NOT NULL,
        start_position     text        NOT NULL,
        last_key           jsonb,
        rows_read          bigint      NOT NULL DEFAULT 0,
        records_changed    bigint      NOT NULL DEFAULT 0,
        customers_changed  bigint      NOT NULL DEFAULT 0,
        unmappable         bigint      NOT NULL DEFAULT 0,
        started_at         timestamptz NOT NULL,
        updated_at         timestamptz NOT NULL,
        finished_at        timestamptz
      )`);
    await q.query(`
      CREATE TABLE reconcile_report (
        id            bigserial   PRIMARY KEY,
        system        text        NOT NULL,
        started_at    timestamptz NOT NULL,
        finished_at   timestamptz NOT NULL,
        agreed        boolean     NOT NULL,
        report        jsonb       NOT NULL
      )`);
    await q.query(`CREATE INDEX reconcile_report_system_idx ON reconcile_report (system, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reconcile_report`);
    await q.query(`DROP TABLE backfill_checkpoint`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/** The reports of `verify` (the projection checked against itself), for /metrics between runs. */
export class VerifyReport1733200000000 implements MigrationInterface {
  name = 'VerifyReport1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE verify_report (
        id           bigserial   PRIMARY KEY,
        started_at   timestamptz NOT NULL,
        finished_at  timestamptz NOT NULL,
        agreed       boolean     NOT NULL,
        report       jsonb       NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE verify_report');
  }
}

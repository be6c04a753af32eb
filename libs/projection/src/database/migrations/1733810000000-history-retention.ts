import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far history retention has removed status changes: one row, `trimmed_until` the time of the
 * newest change removed so far, so that GraphQL can say a customer's history is not whole.
 */
export class HistoryRetention1733810000000 implements MigrationInterface {
  name = 'HistoryRetention1733810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE history_retention (
        one            boolean     PRIMARY KEY DEFAULT true CHECK (one),
        trimmed_until  timestamptz NOT NULL,
        removed        bigint      NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE history_retention');
  }
}

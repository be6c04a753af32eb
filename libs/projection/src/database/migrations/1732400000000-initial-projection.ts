import { MigrationInterface, QueryRunner } from 'typeorm';

/** The system of record: source records, canonical customers and their status history. */
export class InitialProjection1732400000000 implements MigrationInterface {
  name = 'InitialProjection1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE source_record (
        system          text        NOT NULL,
        record_key      text        NOT NULL,
        customer_id     text,
        raw             jsonb       NOT NULL,
        status          text,
        rule            text,
        unmapped_field  text,
        unmapped_value  text,
        position_kind   text        NOT NULL,
        position_key    text        NOT NULL,
        position        text        NOT NULL,
        source_ts       timestamptz,
        deleted         boolean     NOT NULL DEFAULT false,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (system, record_key)
      )`);
    await q.query(`CREATE INDEX source_record_customer_idx ON source_record (customer_id) WHERE NOT deleted`);
    await q.query(
      `CREATE INDEX source_record_unmapped_idx ON source_record (system, unmapped_field, unmapped_value) WHERE unmapped_value IS NOT NULL AND NOT deleted`,
    );
    await q.query(`
      CREATE TABLE customer (
        id                text        PRIMARY KEY,
        status            text        NOT NULL,
        reason            text        NOT NULL,
        status_since      timestamptz NOT NULL,
        updated_at        timestamptz NOT NULL,
        version           bigint      NOT NULL,
        live              boolean     NOT NULL,
        rule_set_version  integer     NOT NULL
      )`);
    await q.query(`CREATE INDEX customer_status_idx ON customer (status, id) WHERE live`);
    await q.query(`
      CREATE TABLE status_history (
        id                bigserial   PRIMARY KEY,
        customer_id       text        NOT NULL,
        from_status       text,
        to_status         text        NOT NULL,
        reason            text        NOT NULL,
        rule_set_version  integer     NOT NULL,
        at                timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX status_history_customer_idx ON status_history (customer_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE status_history`);
    await q.query(`DROP TABLE customer`);
    await q.query(`DROP TABLE source_record`);
  }
}

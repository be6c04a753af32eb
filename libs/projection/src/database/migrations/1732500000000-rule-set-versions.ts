import { MigrationInterface, QueryRunner } from 'typeorm';

/** Versioned rule sets, the active pointer, the audit log, reprojection progress, API tokens. */
export class RuleSetVersions1732500000000 implements MigrationInterface {
  name = 'RuleSetVersions1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rule_set_version (
        version       integer     PRIMARY KEY,
        state         text        NOT NULL CHECK (state IN ('draft', 'published')),
        document      jsonb       NOT NULL,
        checksum      text        NOT NULL,
        comment       text        NOT NULL DEFAULT '',
        created_by    text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        published_at  timestamptz,
        published_by  text
      )`);
    // One row: the version every instance evaluates with. Writers take it FOR SHARE inside their
    // transaction, so a publish waits for them and everything after it sees the new version.
    await q.query(`
      CREATE TABLE active_rule_set (
        singleton     boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
        version       integer     NOT NULL REFERENCES rule_set_version (version),
        activated_at  timestamptz NOT NULL DEFAULT now(),
        activated_by  text        NOT NULL
      )`);
    await q.query(`
      CREATE TABLE rule_set_audit (
        id            bigserial   PRIMARY KEY,
        action        text        NOT NULL CHECK (action IN ('publish', 'rollback')),
        from_version  integer,
        to_version    integer     NOT NULL,
        actor         text        NOT NULL,
        comment       text        NOT NULL,
        at            timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE reprojection (
        id             bigserial   PRIMARY KEY,
        version        integer     NOT NULL,
        state          text        NOT NULL CHECK (state IN ('running', 'done', 'failed', 'superseded')),
        total          bigint      NOT NULL DEFAULT 0,
        processed      bigint      NOT NULL DEFAULT 0,
        changed        bigint      NOT NULL DEFAULT 0,
        last_customer  text,
        error          text,
        started_at     timestamptz NOT NULL DEFAULT now(),
        heartbeat_at   timestamptz NOT NULL DEFAULT now(),
        finished_at    timestamptz
      )`);
    await q.query(`
      CREATE TABLE api_token (
        id            bigserial   PRIMARY KEY,
        name          text        NOT NULL,
        role          text        NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
        token_hash    text        NOT NULL UNIQUE,
        created_by    text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        revoked_at    timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_token, reprojection, rule_set_audit, active_rule_set, rule_set_version`);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

export type VersionState = 'draft' | 'published';

export interface RuleSetVersionRow {
  version: number;
  state: VersionState;
  document: unknown;
  checksum: string;
  comment: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  published_by: string | null;
}

export interface AuditRow {
  id: string;
  action: 'publish' | 'rollback';
  from_version: number | null;
  to_version: number;
  actor: string;
  comment: string;
  at: Date;
}

/** The active version, its row locked FOR SHARE: a publish waits for the transaction that read it. */
export const ACTIVE_RULE_SET_FOR_SHARE_SQL = 'SELECT version FROM active_rule_set FOR SHARE';

/** Rule set versions in PostgreSQL: drafts, published versions (kept forever), the active pointer. */
@Injectable()
export class RuleSetRepository {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  /** On an empty database the configuration files become version 1, published and active. */
  async seedIfEmpty(document: unknown, checksum: string): Promise<void> {
    await this.db.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(7316002)');
      const [{ n }] = await em.query('SELECT count(*)::int AS n FROM rule_set_version');
      if (n > 0) return;
      await em.query(
        `INSERT INTO rule_set_version (version, state, document, checksum, comment, created_by, published_at, published_by)
         VALUES (1, 'published', $1, $2, 'seeded from the configuration files', 'config', now(), 'config')`,
        [JSON.stringify(document), checksum],
      );
      await em.query(`INSERT INTO active_rule_set (version, activated_by) VALUES (1, 'config')`);
    });
  }

  async activeVersion(em: EntityManager | DataSource = this.db, forShare = false): Promise<number> {
    const rows: { version: number }[] = await em.query(forShare ? ACTIVE_RULE_SET_FOR_SHARE_SQL : 'SELECT version FROM active_rule_set');
    if (rows.length === 0) throw new Error('no active rule set: the database was not seeded');
    return rows[0].version;
  }

  async get(version: number): Promise<RuleSetVersionRow | undefined> {
    const rows: RuleSetVersionRow[] = await this.db.query('SELECT * FROM rule_set_version WHERE version = $1', [version]);
    return rows[0];
  }

  async list(): Promise<RuleSetVersionRow[]> {
    return this.db.query('SELECT * FROM rule_set_version ORDER BY version DESC');
  }

  async createDraft(document: unknown, checksum: string, comment: string, actor: string): Promise<RuleSetVersionRow> {
    return this.db.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(7316002)');
      const rows: RuleSetVersionRow[] = await em.query(
        `INSERT INTO rule_set_version (version, state, document, checksum, comment, created_by)
         SELECT coalesce(max(version), 0) + 1, 'draft', $1, $2, $3, $4 FROM rule_set_version RETURNING *`,
        [JSON.stringify(document), checksum, comment, actor],
      );
      return rows[0];
    });
  }

  /**
   * Only drafts change; a published version is frozen. With `expected`, only while the stored
   * document still has that checksum (compare-and-set), or already is this one (a save retried
   * after its answer was lost). Returns undefined if nothing was written.
   */
  async updateDraft(version: number, document: unknown, checksum: string, comment: string | null, expected: string | null = null): Promise<RuleSetVersionRow | undefined> {
    const rows: RuleSetVersionRow[] = await this.db.query(
      `WITH u AS (UPDATE rule_set_version SET document = $2, checksum = $3, comment = coalesce($4, comment), updated_at = now()
                  WHERE version = $1 AND state = 'draft' AND ($5::text IS NULL OR checksum = $5 OR checksum = $3) RETURNING *) SELECT * FROM u`,
      [version, JSON.stringify(document), checksum, comment, expected],
    );
    return rows[0];
  }

  /**
   * The atomic switch: freezes the version, points the active row at it and writes the audit
   * entry in one transaction. Waits for writers holding the active row FOR SHARE.
   */
  async activate(version: number, actor: string, action: 'publish' | 'rollback', comment: string, checksum: string): Promise<{ from: number; to: number } | null> {
    return this.db.transaction(async (em) => {
      const [{ version: from }]: { version: number }[] = await em.query('SELECT version FROM active_rule_set FOR UPDATE');
      // Only while the version still holds the document that was validated (`checksum`): null, with nothing changed, if a save replaced it meanwhile.
      const [{ n }]: Array<{ n: number }> = await em.query(
        `WITH u AS (UPDATE rule_set_version SET state = 'published', published_at = coalesce(published_at, now()), published_by = coalesce(published_by, $2)
         WHERE version = $1 AND checksum = $3 RETURNING 1) SELECT count(*)::int AS n FROM u`,
        [version, actor, checksum],
      );
      if (n === 0) return null;
      await em.query('UPDATE active_rule_set SET version = $1, activated_at = now(), activated_by = $2', [version, actor]);
      await em.query('INSERT INTO rule_set_audit (action, from_version, to_version, actor, comment) VALUES ($1, $2, $3, $4, $5)', [
        action,
        from,
        version,
        actor,
        comment,
      ]);
      return { from, to: version };
    });
  }

  async audit(limit = 100): Promise<AuditRow[]> {
    return this.db.query('SELECT * FROM rule_set_audit ORDER BY id DESC LIMIT $1', [limit]);
  }
}

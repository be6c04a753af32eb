import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { SourceCheckpoint, SourcePosition } from '@app/change-events';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';
import { Statement } from '../store/sql-script';

const MAX_TEXT = 500;

/**
 * The checkpoints of the sources without a broker (`source_checkpoint`): written inside the
 * projection's transaction of the batch they follow (`write`), or alone for a batch that held no
 * change to project (`save`). A checkpoint never moves back: one older than the stored one (same
 * kind, smaller key) changes nothing, so a batch retried after a crash cannot regress it.
 */
@Injectable()
export class SourceCheckpointStore {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  async last(source: string): Promise<SourceCheckpoint | null> {
    return this.lastIn(this.db.manager, source);
  }

  private async lastIn(em: EntityManager, source: string): Promise<SourceCheckpoint | null> {
    const rows: Array<{ kind: string; key: string; text: string; ts: Date | null; gtid: string | null }> = await em.query(
      'SELECT position_kind AS kind, position_key AS key, position AS text, source_ts AS ts, gtid FROM source_checkpoint WHERE source = $1',
      [source],
    );
    const r = rows[0];
    if (!r) return null;
    const kind = r.kind === 'lsn' || r.kind === 'binlog' ? r.kind : 'ts';
    return { source, position: { kind, key: r.key, text: r.text, tsMs: r.ts === null ? null : r.ts.getTime() }, gtid: r.gtid };
  }

  /**
   * The newest position of `kind` among a system's records (live or deleted: a delete keeps its
   * position) and its truncate watermark, whoever wrote them: where a source that was fed through
   * Debezium stands when it switches to direct. Reads the system's records once (first start only).
   */
  async newestRecorded(system: string, kind: SourcePosition['kind']): Promise<SourcePosition | null> {
    const rows: Array<{ key: string; text: string; ts: Date | null }> = await this.db.query(
      `SELECT key, text, ts FROM (
         SELECT position_key AS key, position AS text, source_ts AS ts FROM source_record WHERE system = $1 AND position_kind = $2
         UNION ALL
         SELECT position_key, position, source_ts FROM source_truncate WHERE system = $1 AND position_kind = $2
       ) p ORDER BY key DESC LIMIT 1`,
      [system, kind],
    );
    const r = rows[0];
    return r ? { kind, key: r.key, text: r.text, tsMs: r.ts === null ? null : r.ts.getTime() } : null;
  }

  /**
   * Sets a source's checkpoint whatever it was (back included): the operator's reset, never a
   * batch's. Returns the one it replaced.
   */
  async replace(c: SourceCheckpoint): Promise<SourceCheckpoint | null> {
    return this.db.transaction(async (em) => {
      const before = await this.lastIn(em, c.source);
      await em.query('DELETE FROM source_checkpoint WHERE source = $1', [c.source]);
      await this.write(em, c);
      return before;
    });
  }

  /** Alone, in a transaction of its own. */
  async save(checkpoint: SourceCheckpoint): Promise<void> {
    await this.write(this.db.manager, checkpoint);
  }

  /** In the caller's transaction. */
  async write(em: EntityManager, c: SourceCheckpoint): Promise<void> {
    const { sql, params } = this.statement(c);
    await em.query(sql, [...params]);
  }

  /** The write as a statement, to go with the others of its transaction. */
  statement(c: SourceCheckpoint): Statement {
    const { position: p } = c;
    if (c.source.length > MAX_TEXT || p.key.length > MAX_TEXT || p.text.length > MAX_TEXT) throw new Error(`checkpoint of ${c.source.slice(0, 40)}: too long to store`);
    return {
      sql: `INSERT INTO source_checkpoint AS c (source, position_kind, position_key, position, source_ts, gtid)
       VALUES ($1, $2, $3, $4, $5::timestamptz, $6)
       ON CONFLICT (source) DO UPDATE SET position_kind = excluded.position_kind, position_key = excluded.position_key,
         position = excluded.position, source_ts = excluded.source_ts, gtid = excluded.gtid, updated_at = now()
       WHERE c.position_kind <> excluded.position_kind OR excluded.position_key > c.position_key`,
      params: [c.source, p.kind, p.key, p.text, p.tsMs === null ? null : new Date(p.tsMs).toISOString(), c.gtid?.slice(0, MAX_TEXT) ?? null],
    };
  }
}

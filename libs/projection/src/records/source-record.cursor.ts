import { Client } from 'pg';
import Cursor from 'pg-cursor';
import { KeyPartOrder, recordKeyOrderBy } from './record-key-order';

/** A source record as a key-ordered scan reads it: what the view derived from it, not its raw row. */
export interface KeyOrderedRecord {
  recordKey: string;
  customerId: string | null;
  status: string | null;
  rule: string | null;
  deleted: boolean;
  position: { kind: string; key: string; tsMs: number | null };
}

interface Row {
  record_key: string;
  customer_id: string | null;
  status: string | null;
  rule: string | null;
  deleted: boolean;
  position_kind: string;
  position_key: string;
  ts_ms: string | null;
}

/**
 * A system's source records in key order (see `KeyPartOrder`), through a server-side cursor in one
 * read-only snapshot on a connection of its own: PostgreSQL sorts (spilling to disk if it must),
 * this process holds one page. A cursor rather than keyset pages because the numeric order of text
 * keys has no index.
 */
export class SourceRecordCursor {
  private done = false;

  private constructor(
    private readonly client: Client,
    private readonly cursor: Cursor<Row>,
    private readonly pageSize: number,
  ) {}

  static async open(
    databaseUrl: string,
    system: string,
    parts: readonly KeyPartOrder[],
    options: { pageSize: number; applicationName: string },
  ): Promise<SourceRecordCursor> {
    const client = new Client({ connectionString: databaseUrl, application_name: options.applicationName });
    // Errors of an idle connection surface on its next read, which rejects with them.
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const cursor = client.query(
        new Cursor<Row>(
          `SELECT record_key, customer_id, status, rule, deleted, position_kind, position_key,
                  (extract(epoch FROM source_ts) * 1000)::int8::text AS ts_ms
           FROM source_record WHERE system = $1 ORDER BY ${recordKeyOrderBy(parts)}`,
          [system],
        ),
      );
      return new SourceRecordCursor(client, cursor, options.pageSize);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  /** The next page; empty at the end. */
  async read(): Promise<KeyOrderedRecord[]> {
    if (this.done) return [];
    const rows = await this.cursor.read(this.pageSize);
    if (rows.length < this.pageSize) this.done = true;
    return rows.map((r) => ({
      recordKey: r.record_key,
      customerId: r.customer_id,
      status: r.status,
      rule: r.rule,
      deleted: r.deleted,
      position: { kind: r.position_kind, key: r.position_key, tsMs: r.ts_ms === null ? null : Number(r.ts_ms) },
    }));
  }

  async close(): Promise<void> {
    await this.cursor.close().catch(() => undefined);
    await this.client.query('ROLLBACK').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}

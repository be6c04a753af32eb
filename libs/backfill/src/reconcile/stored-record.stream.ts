import { Client } from 'pg';
import Cursor from 'pg-cursor';
import { KeyColumn } from '../legacy/legacy-source';
import { storedKeyOrder, storedKeyParts } from './key-order';

export interface StoredRow {
  key: string[];
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
 * A system's source records in the merge's key order, through a server-side cursor in one
 * read-only snapshot: PostgreSQL sorts (spilling to disk if it must), this process holds one page.
 * A cursor rather than keyset pages because the numeric order of text keys has no index.
 */
export class StoredRecordStream {
  private done = false;

  private constructor(
    private readonly client: Client,
    private readonly cursor: Cursor<Row>,
    private readonly columns: number,
    private readonly pageSize: number,
  ) {}

  static async open(databaseUrl: string, system: string, keyColumns: readonly KeyColumn[], pageSize: number): Promise<StoredRecordStream> {
    const client = new Client({ connectionString: databaseUrl, application_name: 'statusview-reconcile' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const cursor = client.query(
        new Cursor<Row>(
          `SELECT record_key, customer_id, status, rule, deleted, position_kind, position_key,
                  (extract(epoch FROM source_ts) * 1000)::int8::text AS ts_ms
           FROM source_record WHERE system = $1 ORDER BY ${storedKeyOrder(keyColumns)}`,
          [system],
        ),
      );
      return new StoredRecordStream(client, cursor, keyColumns.length, pageSize);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  /** The next page; empty at the end. */
  async read(): Promise<StoredRow[]> {
    if (this.done) return [];
    const rows = await this.cursor.read(this.pageSize);
    if (rows.length < this.pageSize) this.done = true;
    return rows.map((r) => ({
      key: storedKeyParts(r.record_key, this.columns),
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

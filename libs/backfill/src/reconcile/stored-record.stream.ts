import { KeyOrderedRecord, SourceRecordCursor, SourceRecordRepository } from '@app/projection';
import { KeyColumn } from '../legacy/legacy-source';
import { storedKeyParts } from './key-order';

export interface StoredRow extends KeyOrderedRecord {
  /** The record key as parts, compared with `keyComparator`. */
  key: string[];
}

/**
 * A system's source records in the merge's key order: the projection's key-ordered scan (one
 * snapshot, one page in memory), its keys split into parts.
 */
export class StoredRecordStream {
  private constructor(
    private readonly cursor: SourceRecordCursor,
    private readonly columns: number,
  ) {}

  static async open(records: SourceRecordRepository, system: string, keyColumns: readonly KeyColumn[], pageSize: number): Promise<StoredRecordStream> {
    // keyComparator's order: integer columns as numbers, uuid and text by bytes.
    const parts = keyColumns.map((c) => (c.type === 'integer' ? 'integer' : 'bytes'));
    const cursor = await records.inKeyOrder(system, parts, { pageSize, applicationName: 'statusview-reconcile' });
    return new StoredRecordStream(cursor, keyColumns.length);
  }

  /** The next page; empty at the end. */
  async read(): Promise<StoredRow[]> {
    const rows = await this.cursor.read();
    return rows.map((r) => ({
      key: storedKeyParts(r.recordKey, this.columns),
      recordKey: r.recordKey,
      customerId: r.customerId,
      status: r.status,
      rule: r.rule,
      deleted: r.deleted,
      position: r.position,
    }));
  }

  close(): Promise<void> {
    return this.cursor.close();
  }
}

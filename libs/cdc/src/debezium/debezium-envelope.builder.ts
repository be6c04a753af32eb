import { SourceSystem } from '@app/config';

/**
 * Builds Debezium change events the way the connectors send them, for tests, the demo and the
 * benchmarks. Positions increase with every event built, like a real log.
 */
export type Row = Record<string, unknown>;

export interface TableRef {
  topic: string;
  connector: 'postgresql' | 'mysql';
  db: string;
  schema?: string;
  table: string;
}

export class DebeziumLog {
  private lsn = 24_000_000;
  private pos = 1000;
  private ts = 1_700_000_000_000;

  /** The plain envelope (JSON converter with schemas.enable=false). */
  envelope(t: TableRef, op: 'c' | 'u' | 'd' | 'r' | 't', before: Row | null, after: Row | null, at?: Partial<{ lsn: number; pos: number; file: string; row: number; ts: number }>): Row {
    this.ts += 1000;
    const ts = at?.ts ?? this.ts;
    const source: Row = { version: '2.7.3.Final', connector: t.connector, name: 'legacy', ts_ms: ts, snapshot: op === 'r' ? 'true' : 'false', db: t.db, table: t.table };
    if (t.connector === 'postgresql') {
      this.lsn += 8;
      Object.assign(source, { schema: t.schema ?? 'public', txId: 700 + (this.lsn % 1000), lsn: at?.lsn ?? this.lsn });
    } else {
      this.pos += 120;
      Object.assign(source, { file: at?.file ?? 'mysql-bin.000003', pos: at?.pos ?? this.pos, row: at?.row ?? 0, server_id: 1 });
    }
    return { before, after, source, op, ts_ms: ts + 200, transaction: null };
  }

  /** The same envelope inside the `{schema, payload}` wrapper (schemas.enable=true). */
  wrapped(envelope: Row): Row {
    return { schema: { type: 'struct', optional: false, name: 'legacy.Envelope', fields: [] }, payload: envelope };
  }

  /** ExtractNewRecordState's flattened row with add.fields=op,source.ts_ms,lsn and delete.handling.mode=rewrite. */
  flattened(envelope: Row): Row {
    const source = envelope.source as Row;
    const op = envelope.op as string;
    const row = (op === 'd' ? envelope.before : envelope.after) as Row;
    const out: Row = { ...row, __op: op, __source_ts_ms: source.ts_ms, __deleted: op === 'd' ? 'true' : 'false' };
    if (source.lsn !== undefined) out.__lsn = source.lsn;
    else Object.assign(out, { __source_file: source.file, __source_pos: source.pos, __source_row: source.row });
    return out;
  }
}

/** Where a configured system's events come from, as its Debezium connector names it. */
export function tableRefOf(system: SourceSystem): TableRef {
  const parts = system.table.split('.');
  const table = parts[parts.length - 1];
  const schema = parts.length > 1 ? parts[0] : undefined;
  const topicParts = system.topic.split('.');
  const db = topicParts.length >= 3 ? topicParts[topicParts.length - 2] : system.name;
  return { topic: system.topic, connector: system.connection?.dialect === 'mysql' ? 'mysql' : 'postgresql', db, schema, table };
}

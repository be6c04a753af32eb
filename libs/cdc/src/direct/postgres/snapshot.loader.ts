import { Client, FieldDef } from 'pg';
import Cursor from 'pg-cursor';
import { positionOf } from '@app/change-events';
import { DirectSourceContext } from '../direct-source';
import { applySnapshotBatch, snapshotChange, snapshotEnd } from '../snapshot-batch';
import { Lsn } from './lsn';
import { decodePgValue } from './pg-value.decoder';
import { quoteIdent, quoteLiteral } from './replication.connection';
import { tableOf } from './replication-slot';

/** Every value as PostgreSQL's text output, decoded like the replication stream's (pg's own parsers left out). */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value };

/**
 * The first start's load: the system's table read inside the snapshot that CREATE_REPLICATION_SLOT
 * exported (REPEATABLE READ, SET TRANSACTION SNAPSHOT), in key order, and applied through the
 * ingest use case, before the slot streams. The snapshot holds exactly the transactions committed
 * before the slot's consistent point, and the slot streams exactly those committed after it: no
 * gap, no overlap. The rows are positioned just before the slot's restart_lsn, where the slot
 * starts reading WAL, so every change it streams (at or after restart_lsn) is newer than them.
 *
 * The view may already hold records of the system (it was read through Debezium before, or an
 * earlier slot was dropped): a record the table no longer holds would stay live, since no change
 * of it will ever come; the load ends with the truncate of snapshotEnd for that.
 */
export async function loadSnapshot(ctx: DirectSourceContext, snapshot: string, restartLsn: Lsn, keepGoing: () => boolean): Promise<number> {
  const { system, env } = ctx;
  const client = new Client({ connectionString: ctx.url, application_name: `statusview-snapshot-${system.name}` });
  await client.connect();
  let rows = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
    const t = tableOf(system);
    const order = system.recordKey.map(quoteIdent).join(', ');
    const cursor = client.query(new Cursor(`SELECT * FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} ORDER BY ${order}`, [], { types: TEXT_TYPES }));
    const position = positionOf({ lsn: (restartLsn > 0n ? restartLsn - 1n : 0n).toString(), ts_ms: Date.now() }, null);
    for (;;) {
      const page = await cursor.read(env.cdc.batchSize);
      if (page.length === 0) break;
      const fields = (cursor as unknown as { _result?: { fields: FieldDef[] } })._result?.fields ?? [];
      await applySnapshotBatch(ctx, page.map((r: Record<string, string | null>) => snapshotChange(ctx, decodeRow(fields, r), position)), keepGoing);
      rows += page.length;
    }
    await cursor.close();
    await client.query('COMMIT');
    await applySnapshotBatch(ctx, [snapshotEnd(ctx, position)], keepGoing);
  } finally {
    await client.end().catch(() => undefined);
  }
  return rows;
}

function decodeRow(fields: FieldDef[], row: Record<string, string | null>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const f of fields) {
    const v = row[f.name];
    raw[f.name] = v === null || v === undefined ? null : decodePgValue(v, f.dataTypeID, f.dataTypeModifier);
  }
  return raw;
}

import { Inject, Injectable } from '@nestjs/common';
import { ChangeEvent, ChangeEventDecoder, DecodeError, SourcePosition, tableRefOf } from '@app/cdc';
import { DOMAIN_CONFIG, DomainConfig, ENV_CONFIG, EnvConfig, SourceSystem } from '@app/config';
import { LegacyRow, SourceBlock } from '../legacy/legacy-source';

export type BuiltEvent = { ok: true; event: ChangeEvent } | { ok: false; reason: string };

/**
 * Turns legacy rows into the change events a Debezium snapshot would send (op `r`), decoded by the
 * consumer's own decoder: record key, customer key and field normalization are the live path's,
 * by construction. The rows already hold the values in Debezium's JSON form (the legacy sources
 * convert them in SQL), so they are handed to the decoder as they are, not written out as an
 * envelope and parsed back.
 */
@Injectable()
export class LegacyEventBuilder {
  private readonly decoder: ChangeEventDecoder;

  constructor(@Inject(DOMAIN_CONFIG) domain: DomainConfig, @Inject(ENV_CONFIG) env: EnvConfig) {
    // The live path's limits: a key too long for the store is refused the same way here.
    this.decoder = new ChangeEventDecoder(domain.sources, env.cdc.limits);
  }

  read(system: SourceSystem, row: LegacyRow, position: SourcePosition): BuiltEvent {
    return this.decode(system, 'r', jsonValues(row), position);
  }

  /** A delete as the connector sends it with the default replica identity: `before` holds only the key. */
  delete(system: SourceSystem, recordKey: string, position: SourcePosition): BuiltEvent {
    const parts: unknown[] = system.recordKey.length === 1 ? [recordKey] : (JSON.parse(recordKey) as unknown[]);
    const before: Record<string, unknown> = {};
    system.recordKey.forEach((col, i) => (before[col] = parts[i]));
    return this.decode(system, 'd', before, position);
  }

  /** The position the decoder reads from a source block: what backfilled rows are stored with. */
  position(system: SourceSystem, block: SourceBlock): SourcePosition {
    // A truncate envelope carries nothing but the source block: the decoder's own reading of it.
    const ref = tableRefOf(system);
    const source = {
      version: 'statusview-backfill',
      connector: ref.connector,
      name: 'statusview-backfill',
      snapshot: 'true',
      db: ref.db,
      table: ref.table,
      ...(ref.schema ? { schema: ref.schema } : {}),
      ...block,
    };
    const value = JSON.stringify({ op: 't', before: null, after: null, source, ts_ms: block.ts_ms });
    const decoded = this.decoder.decode({ topic: system.topic, value });
    if (decoded.kind !== 'truncate') throw new Error(`the decoder read a source block as ${decoded.kind}`);
    return decoded.position;
  }

  private decode(system: SourceSystem, op: 'r' | 'd', row: Record<string, unknown>, position: SourcePosition): BuiltEvent {
    try {
      return { ok: true, event: this.decoder.decodeRow(system, op, row, position) };
    } catch (e) {
      if (e instanceof DecodeError) return { ok: false, reason: e.message };
      throw e;
    }
  }
}

/** What a JSON round trip would leave of a row's numbers: NaN and ±Infinity become null. */
function jsonValues(row: LegacyRow): Record<string, unknown> {
  for (const k in row) {
    const v = row[k];
    if (typeof v === 'number' && !Number.isFinite(v)) row[k] = null;
  }
  return row;
}

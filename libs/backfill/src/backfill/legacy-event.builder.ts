import { Inject, Injectable } from '@nestjs/common';
import { ChangeEvent, ChangeEventDecoder, DecodeError, SourcePosition, tableRefOf } from '@app/cdc';
import { DOMAIN_CONFIG, DomainConfig, SourceSystem } from '@app/config';
import { LegacyRow, SourceBlock } from '../legacy/legacy-source';

export type BuiltEvent = { ok: true; event: ChangeEvent } | { ok: false; reason: string };

/**
 * Turns legacy rows into change events by writing the envelope a Debezium snapshot would send
 * (op `r`) and decoding it with the consumer's own decoder: record key, customer key and field
 * normalization are the live path's, by construction.
 */
@Injectable()
export class LegacyEventBuilder {
  private readonly decoder: ChangeEventDecoder;

  constructor(@Inject(DOMAIN_CONFIG) domain: DomainConfig) {
    this.decoder = new ChangeEventDecoder(domain.sources);
  }

  /** Everything of the envelope but the row, serialized once per run. */
  sourceJson(system: SourceSystem, block: SourceBlock): string {
    const ref = tableRefOf(system);
    const source: Record<string, unknown> = {
      version: 'statusview-backfill',
      connector: ref.connector,
      name: 'statusview-backfill',
      snapshot: 'true',
      db: ref.db,
      table: ref.table,
      ...(ref.schema ? { schema: ref.schema } : {}),
      ...block,
    };
    return JSON.stringify(source);
  }

  read(system: SourceSystem, row: LegacyRow, sourceJson: string, tsMs: number): BuiltEvent {
    return this.decode(system, `{"before":null,"after":${JSON.stringify(row)},"source":${sourceJson},"op":"r","ts_ms":${tsMs}}`);
  }

  /** A delete as the connector sends it with the default replica identity: `before` holds only the key. */
  delete(system: SourceSystem, recordKey: string, sourceJson: string, tsMs: number): BuiltEvent {
    const parts: unknown[] = system.recordKey.length === 1 ? [recordKey] : (JSON.parse(recordKey) as unknown[]);
    const before: Record<string, unknown> = {};
    system.recordKey.forEach((col, i) => (before[col] = parts[i]));
    return this.decode(system, `{"before":${JSON.stringify(before)},"after":null,"source":${sourceJson},"op":"d","ts_ms":${tsMs}}`);
  }

  /** The position the decoder reads from a source block: what backfilled rows are stored with. */
  position(system: SourceSystem, block: SourceBlock): SourcePosition {
    // A truncate envelope carries nothing but the source block: the decoder's own reading of it.
    const decoded = this.decoder.decode({ topic: system.topic, value: `{"op":"t","before":null,"after":null,"source":${this.sourceJson(system, block)},"ts_ms":${block.ts_ms}}` });
    if (decoded.kind !== 'truncate') throw new Error(`the decoder read a source block as ${decoded.kind}`);
    return decoded.position;
  }

  private decode(system: SourceSystem, value: string): BuiltEvent {
    try {
      const decoded = this.decoder.decode({ topic: system.topic, value });
      if (decoded.kind !== 'change') return { ok: false, reason: `decoded as ${decoded.kind}, not a change` };
      return { ok: true, event: decoded };
    } catch (e) {
      if (e instanceof DecodeError) return { ok: false, reason: e.message };
      throw e;
    }
  }
}

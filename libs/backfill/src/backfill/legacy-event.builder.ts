import { Inject, Injectable } from '@nestjs/common';
import { ChangeEvent, ChangeEventFactory, DecodeError, positionOf, SourcePosition } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig, ENV_CONFIG, EnvConfig, SourceSystem } from '@app/config';
import { LegacyRow, SourceBlock } from '../legacy/legacy-source';

export type BuiltEvent = { ok: true; event: ChangeEvent } | { ok: false; reason: string };

/**
 * Turns legacy rows into the change events a snapshot of the table would give (op `r`), built by
 * the same factory as every other source's: record key, customer key, limits and field
 * normalization are the live path's, by construction. The rows already hold the values in their
 * JSON form (the legacy sources convert them in SQL).
 */
@Injectable()
export class LegacyEventBuilder {
  private readonly events: ChangeEventFactory;

  constructor(@Inject(DOMAIN_CONFIG) domain: DomainConfig, @Inject(ENV_CONFIG) env: EnvConfig) {
    // The live path's limits: a key too long for the store is refused the same way here.
    this.events = new ChangeEventFactory(domain.sources, env.cdc.limits);
  }

  read(system: SourceSystem, row: LegacyRow, position: SourcePosition): BuiltEvent {
    return this.build(system, 'r', jsonValues(row), position);
  }

  /** A delete as PostgreSQL's default replica identity gives it: the row holds only the key. */
  delete(system: SourceSystem, recordKey: string, position: SourcePosition): BuiltEvent {
    const parts: unknown[] = system.recordKey.length === 1 ? [recordKey] : (JSON.parse(recordKey) as unknown[]);
    const before: Record<string, unknown> = {};
    system.recordKey.forEach((col, i) => (before[col] = parts[i]));
    return this.build(system, 'd', before, position);
  }

  /** The position of a source block (lsn, or binlog file and pos, and the time): what backfilled rows are stored with. */
  position(_system: SourceSystem, block: SourceBlock): SourcePosition {
    return positionOf({ ...block }, block.ts_ms);
  }

  private build(system: SourceSystem, op: 'r' | 'd', row: Record<string, unknown>, position: SourcePosition): BuiltEvent {
    try {
      return { ok: true, event: this.events.changeOfRow(system, op, row, position) };
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

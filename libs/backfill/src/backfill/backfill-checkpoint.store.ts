import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BACKFILL_DATA_SOURCE } from '../database/backfill.database';
import { SourceBlock } from '../legacy/legacy-source';

export interface BackfillCounters {
  rowsRead: number;
  recordsChanged: number;
  customersChanged: number;
  unmappable: number;
}

export interface BackfillCheckpoint extends BackfillCounters {
  system: string;
  /** The source position the run started at; a resumed run stores its rows with it too. */
  sourceBlock: SourceBlock;
  startPosition: string;
  /** Key of the last row of the last committed batch (text parts), null before the first. */
  lastKey: string[] | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

interface Row {
  system: string;
  source_block: SourceBlock;
  start_position: string;
  last_key: string[] | null;
  rows_read: string;
  records_changed: string;
  customers_changed: string;
  unmappable: string;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** One row per system in the statusview database: where its backfill got to. */
@Injectable()
export class BackfillCheckpointStore {
  constructor(@Inject(BACKFILL_DATA_SOURCE) private readonly db: DataSource) {}

  async get(system: string): Promise<BackfillCheckpoint | null> {
    const rows: Row[] = await this.db.query(`SELECT * FROM backfill_checkpoint WHERE system = $1`, [system]);
    return rows.length ? fromRow(rows[0]) : null;
  }

  /** A fresh run replaces whatever an earlier run left. */
  async start(system: string, block: SourceBlock, position: string): Promise<void> {
    await this.db.query(
      `INSERT INTO backfill_checkpoint (system, source_block, start_position, last_key, started_at, updated_at)
       VALUES ($1, $2, $3, NULL, now(), now())
       ON CONFLICT (system) DO UPDATE SET source_block = excluded.source_block, start_position = excluded.start_position,
         last_key = NULL, rows_read = 0, records_changed = 0, customers_changed = 0, unmappable = 0,
         started_at = now(), updated_at = now(), finished_at = NULL`,
      [system, JSON.stringify(block), position],
    );
  }

  /** Written after the batch's projection commit: a crash in between re-reads that batch, which changes nothing. */
  async advance(system: string, lastKey: string[], counters: BackfillCounters): Promise<void> {
    await this.db.query(
      `UPDATE backfill_checkpoint SET last_key = $2, rows_read = $3, records_changed = $4, customers_changed = $5,
         unmappable = $6, updated_at = now() WHERE system = $1`,
      [system, JSON.stringify(lastKey), counters.rowsRead, counters.recordsChanged, counters.customersChanged, counters.unmappable],
    );
  }

  async finish(system: string): Promise<void> {
    await this.db.query(`UPDATE backfill_checkpoint SET finished_at = now(), updated_at = now() WHERE system = $1`, [system]);
  }
}

function fromRow(r: Row): BackfillCheckpoint {
  return {
    system: r.system,
    sourceBlock: r.source_block,
    startPosition: r.start_position,
    lastKey: r.last_key,
    rowsRead: Number(r.rows_read),
    recordsChanged: Number(r.records_changed),
    customersChanged: Number(r.customers_changed),
    unmappable: Number(r.unmappable),
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

/** A change a direct source could not project (the shape of `@app/cdc`'s DeadLetterEntry). */
export interface DirectDeadLetter {
  source: string;
  ref: string;
  code: string;
  reason: string;
  payload: unknown;
}

/** Stored as given up to this size; a bigger payload keeps its size and its first characters. */
export const DEAD_LETTER_MAX_PAYLOAD_CHARS = 65_536;
const MAX_REASON_CHARS = 2_000;
const MAX_REF_CHARS = 500;

/** The dead letters of the direct sources, in PostgreSQL (`direct_dead_letter`): there is no broker to hand them to. */
@Injectable()
export class DirectDeadLetterStore {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  /** Keeps each entry once per (source, ref): a change dead-lettered again after a restart adds nothing. */
  async put(entries: readonly DirectDeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => ({ source: e.source, ref: cut(e.ref, MAX_REF_CHARS), code: e.code, reason: cut(e.reason, MAX_REASON_CHARS), payload: payloadText(e.payload) }));
    // Counted in statusview_messages_dead_lettered_total by the ingest use case's verdicts, as every source's.
    await this.db.query(
      `INSERT INTO direct_dead_letter (source, ref, code, reason, payload)
       SELECT source, ref, code, reason, payload FROM jsonb_to_recordset($1::jsonb) AS d(source text, ref text, code text, reason text, payload text)
       ON CONFLICT (source, ref) DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }

  /** The latest dead letters of a source, newest first (for operators and tests). */
  async latest(source: string, limit = 100): Promise<Array<DirectDeadLetter & { at: Date }>> {
    const rows: Array<{ source: string; ref: string; code: string; reason: string; payload: string | null; at: Date }> = await this.db.query(
      'SELECT source, ref, code, reason, payload, at FROM direct_dead_letter WHERE source = $1 ORDER BY id DESC LIMIT $2',
      [source, Math.min(Math.max(1, limit), 10_000)],
    );
    return rows.map((r) => ({ ...r, payload: r.payload === null ? null : JSON.parse(r.payload) }));
  }
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function payloadText(payload: unknown): string | null {
  if (payload === undefined) return null;
  let text: string;
  try {
    // `this[key]` is the value before toJSON: a Buffer shows as base64, not as an array of bytes.
    text =
      JSON.stringify(payload, function (this: Record<string, unknown>, key: string, v: unknown) {
        const raw = this[key];
        return typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(raw) ? raw.toString('base64') : v;
      }) ?? 'null';
  } catch (e) {
    return JSON.stringify({ unencodable: (e as Error).message });
  }
  return text.length <= DEAD_LETTER_MAX_PAYLOAD_CHARS ? text : JSON.stringify({ truncated: true, chars: text.length, head: text.slice(0, 4_096) });
}

import { DecodeError, positionOf, SourcePosition } from '@app/change-events';

/** A point in the binlog to read from: a file and the offset of an event's first byte in it. */
export interface BinlogPoint {
  file: string;
  pos: number;
}

/** The common header of a binlog event (v4): what precedes the body zongji measures as `size`. */
const HEADER_BYTES = 19;
const CHECKSUM_BYTES = 4;

/**
 * Where an event starts, as Debezium's `source.pos` says (the binlog client's
 * `EventHeaderV4.getPosition()`: the header's end_log_pos minus the event's length). zongji gives
 * end_log_pos as `nextPosition` and the body without header and checksum as `size`.
 */
export function eventStart(e: { nextPosition: number; size: number }, withChecksum: boolean): number {
  return e.nextPosition - e.size - HEADER_BYTES - (withChecksum ? CHECKSUM_BYTES : 0);
}

/**
 * The position of one row of a rows event exactly as the Debezium path computes it from
 * `source.file`, `source.pos` and `source.row` (positionOf), so that a system can switch between
 * Debezium and this source and every stored record compares right.
 */
export function rowPosition(file: string, pos: number, row: number, tsMs: number | null): SourcePosition {
  return positionOf({ file, pos, row, ts_ms: tsMs }, null);
}

/** A checkpoint's position: the point to resume from, as a position of row 0 there. */
export function checkpointPosition(point: BinlogPoint, tsMs: number | null): SourcePosition {
  return rowPosition(point.file, point.pos, 0, tsMs);
}

/** The point to resume from, read back from a checkpoint's position text (`mysql-bin.000003:15482:0`). */
export function pointOf(position: SourcePosition): BinlogPoint {
  const m = /^(.+):(\d+):(\d+)$/.exec(position.text);
  if (position.kind !== 'binlog' || !m) throw new DecodeError('BAD_POSITION', `not a binlog position: ${position.kind} ${position.text.slice(0, 80)}`);
  const pos = Number(m[2]);
  if (!Number.isSafeInteger(pos)) throw new DecodeError('BAD_POSITION', `binlog offset ${m[2]} is out of range`);
  return { file: m[1], pos };
}

/** True when `a` is at or after `b`: files by their numeric suffix (they rotate upwards), then offset. */
export function atOrAfter(a: BinlogPoint, b: BinlogPoint): boolean {
  return checkpointPosition(a, null).key >= checkpointPosition(b, null).key;
}

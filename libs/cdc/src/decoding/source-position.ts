import { SourcePosition } from './change-event.model';

const pad = (n: number | bigint | string, width: number): string => String(n).padStart(width, '0');

function toInt(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return null;
}

/** Reads the position from a Debezium `source` block (or the flattened `__source_*` fields). */
export function positionOf(source: Record<string, unknown>, eventTsMs: unknown): SourcePosition {
  const tsMs = toInt(source.ts_ms) ?? toInt(eventTsMs);
  const lsn = toInt(source.lsn);
  if (lsn !== null) return { kind: 'lsn', key: pad(lsn, 20), text: `lsn:${lsn}`, tsMs };
  const file = typeof source.file === 'string' ? source.file : null;
  const pos = toInt(source.pos);
  if (file !== null && pos !== null) {
    const row = toInt(source.row) ?? 0;
    // mysql-bin.000003 → 3; files rotate with an increasing numeric suffix.
    const fileNo = /(\d+)$/.exec(file)?.[1] ?? '0';
    return { kind: 'binlog', key: `${pad(fileNo, 12)}:${pad(pos, 20)}:${pad(row, 8)}`, text: `${file}:${pos}:${row}`, tsMs };
  }
  return { kind: 'ts', key: pad(tsMs ?? 0, 20), text: `ts_ms:${tsMs ?? 0}`, tsMs };
}

/**
 * True when `incoming` is strictly newer than `stored`. Positions of one kind compare by key; of
 * different kinds (a connector switched, or a backfilled row) by source time, newer wins.
 */
export function isNewer(incoming: SourcePosition, stored: { kind: string; key: string; tsMs: number | null }): boolean {
  if (incoming.kind === stored.kind) return incoming.key > stored.key;
  return (incoming.tsMs ?? 0) > (stored.tsMs ?? 0);
}

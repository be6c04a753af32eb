import { KeyColumn } from '../legacy/legacy-source';

/**
 * One total order of record keys that both sides of the merge follow (docs/backfill.md, "Key order");
 * the view's side is the projection's key-ordered scan (`SourceRecordRepository.inKeyOrder`), which
 * sorts the same way:
 * - integer parts compare as numbers. A stored key that is no integer sorts after every integer,
 *   then by bytes, on both sides, so the merge never stalls on it (it shows as "gone");
 * - uuid and text parts compare by bytes (PostgreSQL `COLLATE "C"`, MySQL `BINARY`); JavaScript
 *   compares UTF-16 units, which agrees with bytes below U+E000 (all uuids and ASCII keys).
 */
export type KeyComparator = (a: readonly string[], b: readonly string[]) => number;

const INTEGER = /^-?\d+$/;

/** Integers in canonical text (no leading zeros): by sign, then length, then digits; no parsing. */
export function compareIntegerText(a: string, b: string): number {
  const na = a.startsWith('-');
  const nb = b.startsWith('-');
  if (na !== nb) return na ? -1 : 1;
  const sign = na ? -1 : 1;
  if (a.length !== b.length) return (a.length < b.length ? -1 : 1) * sign;
  return a === b ? 0 : (a < b ? -1 : 1) * sign;
}

const compareText = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);

export function keyComparator(columns: readonly KeyColumn[]): KeyComparator {
  const parts = columns.map((c) =>
    c.type === 'integer'
      ? (a: string, b: string): number => {
          const ia = INTEGER.test(a);
          const ib = INTEGER.test(b);
          if (ia && ib) return compareIntegerText(a, b);
          if (ia !== ib) return ia ? -1 : 1;
          return compareText(a, b);
        }
      : compareText,
  );
  return (a, b) => {
    for (let i = 0; i < parts.length; i++) {
      const c = parts[i](a[i], b[i]);
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** A stored record key as parts: itself, or the JSON array the decoder writes for composite keys. */
export function storedKeyParts(recordKey: string, columns: number): string[] {
  if (columns === 1) return [recordKey];
  try {
    const parts = JSON.parse(recordKey) as unknown;
    if (Array.isArray(parts) && parts.length === columns) return parts.map((p) => String(p));
  } catch {
    // Not JSON: keep the text whole in the first part so it still has a place in the order.
  }
  return [recordKey, ...Array<string>(columns - 1).fill('')];
}

/** The record key as the decoder writes it, from the parts. */
export function recordKeyOf(parts: readonly string[], columns: readonly KeyColumn[]): string {
  if (parts.length === 1) return parts[0];
  return JSON.stringify(parts.map((p, i) => (columns[i].type === 'integer' && Number.isSafeInteger(Number(p)) ? Number(p) : p)));
}

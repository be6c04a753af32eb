/**
 * How one part of a record key is ordered: `integer` parts as numbers, with a part that is no
 * integer after every integer, then by bytes; `bytes` parts by bytes (`COLLATE "C"`). A reader that
 * merges the records with another sorted stream compares keys the same way (backfill's
 * `keyComparator`, docs/backfill.md "Key order").
 */
export type KeyPartOrder = 'integer' | 'bytes';

/** The ORDER BY of `source_record` for keys of these parts (composite keys are stored as JSON arrays). */
export function recordKeyOrderBy(parts: readonly KeyPartOrder[]): string {
  const part = (expr: string, order: KeyPartOrder, numericTest: string): string =>
    order === 'integer'
      ? `(CASE WHEN ${numericTest} THEN (${expr})::numeric END) NULLS LAST, (${expr}) COLLATE "C"`
      : `(${expr}) COLLATE "C"`;
  if (parts.length === 1) return part('record_key', parts[0], `record_key ~ '^-?[0-9]+$'`);
  return parts.map((p, i) => part(`record_key::jsonb->>${i}`, p, `(record_key::jsonb->>${i}) ~ '^-?[0-9]+$'`)).join(', ');
}

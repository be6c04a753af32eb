/**
 * PostgreSQL log sequence numbers: 64-bit, written `16/B374D848` by the server and carried as
 * bigint here (a JavaScript number loses them past 2^53). The change events' positions use the
 * decimal digits, as Debezium's `source.lsn` does.
 */
export type Lsn = bigint;

const TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const m = TEXT.exec(text);
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text.slice(0, 40))}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export const maxLsn = (a: Lsn, b: Lsn): Lsn => (a > b ? a : b);

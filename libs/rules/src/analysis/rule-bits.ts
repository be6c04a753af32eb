/**
 * Sets of rules as bit sets (bit p = the rule at position p), so that "which rules match this
 * combination of values" is a few word ANDs instead of a test per rule: what keeps the analysis of
 * a table of thousands of rows from growing with rows × values.
 */
export type RuleBits = Uint32Array;

export const wordsFor = (n: number): number => (n + 31) >>> 5;

export function allBits(n: number): RuleBits {
  const bits = new Uint32Array(wordsFor(n));
  for (let p = 0; p < n; p++) bits[p >>> 5] |= 1 << (p & 31);
  return bits;
}

/** Bits of positions below `p` (the rules that come before it). */
export function bitsBelow(p: number, words: number): RuleBits {
  const bits = new Uint32Array(words);
  for (let w = 0; w < p >>> 5; w++) bits[w] = 0xffffffff;
  if (p & 31) bits[p >>> 5] = (1 << (p & 31)) - 1;
  return bits;
}

export const hasBit = (bits: RuleBits, p: number): boolean => (bits[p >>> 5] & (1 << (p & 31))) !== 0;

/** Bit `p` of the set stored at `offset` in `matrix` (a row of a matrix of rule bits). */
export const hasBitAt = (matrix: Uint32Array, offset: number, p: number): boolean => (matrix[offset + (p >>> 5)] & (1 << (p & 31))) !== 0;

export function setBit(bits: RuleBits, p: number): void {
  bits[p >>> 5] |= 1 << (p & 31);
}

export function isEmpty(bits: RuleBits): boolean {
  for (let w = 0; w < bits.length; w++) if (bits[w] !== 0) return false;
  return true;
}

/** The lowest position set, or -1. */
export function firstBit(bits: RuleBits): number {
  for (let w = 0; w < bits.length; w++) if (bits[w] !== 0) return (w << 5) + (31 - Math.clz32(bits[w] & -bits[w]));
  return -1;
}

/** Calls `visit` with every position set in `a & b` (b optional), lowest first. */
export function forEachBit(a: RuleBits, visit: (p: number) => void, b?: RuleBits): void {
  for (let w = 0; w < a.length; w++) {
    let word = b ? a[w] & b[w] : a[w];
    while (word !== 0) {
      const low = word & -word;
      visit((w << 5) + (31 - Math.clz32(low)));
      word ^= low;
    }
  }
}

/** `out = a & b`, in place. */
export function and(out: RuleBits, a: RuleBits, b: RuleBits, offset = 0): void {
  for (let w = 0; w < out.length; w++) out[w] = a[w] & b[offset + w];
}

/** Whether `a & b` has any bit. */
export function intersects(a: RuleBits, b: RuleBits): boolean {
  for (let w = 0; w < a.length; w++) if ((a[w] & b[w]) !== 0) return true;
  return false;
}

import { normalizer } from '../compiler/cell.compiler';
import { Cell, InputDef, Scalar } from '../model/rule-set.model';

const DAY_MS = 86_400_000;

export const isRelative = (cell: Cell): boolean => cell.kind === 'olderThan' || cell.kind === 'newerThan';
export const isOrdered = (cell: Cell): boolean => cell.kind === 'compare' || cell.kind === 'between' || isRelative(cell);

/**
 * A finite set of values of one input that stands for all of them. Every cell compares the
 * (normalized) value with constants only, so between two neighbouring constants of an input, each
 * cell of each rule gives one answer. The constants, one value inside each interval between them
 * (and below the lowest and above the highest), and null therefore reach every outcome of every
 * row. Without ordered cells (comparisons, ranges, relative dates), all values that are not a
 * constant behave alike and one of them stands for all. Relative dates are constants at `now`.
 *
 * Assumes values of the declared type or null, as the decoder delivers them: a wrongly typed raw
 * value (e.g. "abc" for a number) is outside the analysis.
 */
export function representativeValues(input: InputDef, cells: readonly Cell[], now: number): unknown[] {
  const normalize = normalizer(input.type);
  const raw: Scalar[] = [...(input.allowed ?? [])];
  for (const cell of cells) {
    switch (cell.kind) {
      case 'equals':
        raw.push(cell.value);
        break;
      case 'in':
      case 'notIn':
        for (const v of cell.values) raw.push(v); // not a spread: a list can be longer than a call's arguments
        break;
      case 'compare':
        raw.push(cell.value);
        break;
      case 'between':
        raw.push(cell.low, cell.high);
        break;
      case 'olderThan':
      case 'newerThan':
        raw.push(now - cell.ms);
        break;
      case 'any':
      case 'isNull':
      case 'isSet':
        break;
    }
  }
  const ordered = cells.some(isOrdered);
  let values: unknown[];
  switch (input.type) {
    case 'boolean':
      values = [true, false];
      break;
    case 'number':
    case 'date': {
      const constants = uniqueSorted(raw.map(normalize).filter((v): v is number => typeof v === 'number' && !Number.isNaN(v)));
      values = ordered ? withNumericGaps(constants, input.type, now) : [...constants, otherNumber(constants, input.type === 'date' ? now : 0)];
      break;
    }
    case 'string': {
      const constants = uniqueSorted(raw.map(normalize).filter((v): v is string => typeof v === 'string'));
      values = ordered ? withStringGaps(constants) : [...constants, otherString(constants)];
      break;
    }
  }
  // Allowed values first, in the order declared: they make the most natural examples.
  return [...new Set([...(input.allowed ?? []).map(normalize), ...values, null])];
}

function uniqueSorted<T extends number | string>(values: T[]): T[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function withNumericGaps(constants: readonly number[], type: 'number' | 'date', now: number): number[] {
  if (constants.length === 0) return [type === 'date' ? now : 0];
  const step = type === 'date' ? DAY_MS : 1;
  const out = [constants[0] - step];
  constants.forEach((c, i) => {
    out.push(c);
    if (i === constants.length - 1) {
      out.push(c + step);
      return;
    }
    const next = constants[i + 1];
    // A whole number (or whole millisecond) reads best; any value strictly inside will do.
    const whole = type === 'number' ? Math.floor(c) + 1 : Math.round((c + next) / 2);
    const inside = whole > c && whole < next ? whole : (c + next) / 2;
    if (inside > c && inside < next) out.push(inside);
  });
  return out;
}

function withStringGaps(constants: readonly string[]): string[] {
  const out: string[] = constants.length === 0 || constants[0] === '' ? [] : [''];
  constants.forEach((c, i) => {
    out.push(c);
    const next = constants[i + 1];
    const inside = [`${c}_OTHER`, `${c} `, `${c}\u0000`].find((s) => next === undefined || s < next);
    if (inside !== undefined) out.push(inside);
  });
  return out.length === 0 ? ['OTHER'] : out;
}

// A set, not `includes`: with thousands of constants 0, 1, 2, … the search was quadratic.
function otherNumber(constants: readonly number[], start: number): number {
  const taken = new Set(constants);
  let n = start;
  while (taken.has(n)) n++;
  return n;
}

function otherString(constants: readonly string[]): string {
  const taken = new Set(constants);
  let s = 'OTHER';
  for (let i = 2; taken.has(s); i++) s = `OTHER_${i}`;
  return s;
}

// Values as an analyst writes them in the rule set.

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const YAML_WORDS = new Set(['true', 'false', 'null', 'yes', 'no', 'on', 'off', 'y', 'n']);

export function showScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return PLAIN.test(value) && !YAML_WORDS.has(value.toLowerCase()) ? value : JSON.stringify(value);
  return String(value);
}

/** A normalized input value as a raw field value: dates as ISO-8601 strings. */
export function showInputValue(value: unknown, input: InputDef): string {
  if (input.type === 'date' && typeof value === 'number') return JSON.stringify(new Date(value).toISOString());
  return showScalar(value);
}

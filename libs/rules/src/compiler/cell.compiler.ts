import { Cell, InputType, Scalar } from '../model/rule-set.model';

/** A compiled cell: tests one normalized input value at an evaluation time (epoch ms). */
export type CellTest = (value: unknown, now: number) => boolean;

/** Brings a raw field value to the input's type once, so cells compare like with like. */
export function normalizer(type: InputType): (raw: unknown) => unknown {
  switch (type) {
    case 'string':
      return (raw) => (raw === null || raw === undefined ? null : typeof raw === 'string' ? raw : String(raw));
    case 'number':
      return (raw) => {
        if (raw === null || raw === undefined) return null;
        if (typeof raw === 'number') return raw;
        const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
        return Number.isNaN(n) ? raw : n;
      };
    case 'boolean':
      return (raw) => {
        if (raw === null || raw === undefined) return null;
        if (raw === true || raw === 1 || raw === 'true' || raw === '1') return true;
        if (raw === false || raw === 0 || raw === 'false' || raw === '0') return false;
        return raw;
      };
    case 'date':
      return (raw) => {
        if (raw === null || raw === undefined) return null;
        if (typeof raw === 'number') return raw;
        if (typeof raw === 'string') {
          const t = Date.parse(raw);
          return Number.isNaN(t) ? raw : t;
        }
        return raw;
      };
  }
}

function orderKey(value: number | string, type: InputType): number | string {
  return type === 'date' && typeof value === 'string' ? Date.parse(value) : value;
}

export function compileCell(cell: Cell, type: InputType): CellTest {
  switch (cell.kind) {
    case 'any':
      return () => true;
    case 'equals': {
      const expected = cell.value;
      return (v) => v === expected;
    }
    case 'in': {
      const set = new Set<Scalar>(cell.values);
      return (v) => set.has(v as Scalar);
    }
    case 'notIn': {
      const set = new Set<Scalar>(cell.values);
      return (v) => v !== null && !set.has(v as Scalar);
    }
    case 'compare': {
      const bound = orderKey(cell.value, type);
      const sameType = (v: unknown): v is number | string => typeof v === typeof bound;
      switch (cell.op) {
        case 'lt':
          return (v) => sameType(v) && v < bound;
        case 'lte':
          return (v) => sameType(v) && v <= bound;
        case 'gt':
          return (v) => sameType(v) && v > bound;
        case 'gte':
          return (v) => sameType(v) && v >= bound;
      }
      break;
    }
    case 'between': {
      const low = orderKey(cell.low, type);
      const high = orderKey(cell.high, type);
      return (v) => typeof v === typeof low && (v as number) >= (low as number) && (v as number) <= (high as number);
    }
    case 'isNull':
      return (v) => v === null;
    case 'isSet':
      return (v) => v !== null;
    case 'olderThan': {
      const ms = cell.ms;
      return (v, now) => typeof v === 'number' && v < now - ms;
    }
    case 'newerThan': {
      const ms = cell.ms;
      return (v, now) => typeof v === 'number' && v >= now - ms;
    }
  }
}

import { Condition } from '../model/rule-set.model';

/** How a resolution condition finds its system's slot and its statuses' bits. */
export interface MaskLayout {
  /** Slot of a system in the masks; undefined for a system the layout does not know (never matches). */
  systemIndex(system: string): number | undefined;
  /** The bits of these statuses in a system's mask. */
  bits(statuses: readonly string[]): number;
  systemCount: number;
}

/**
 * A resolution condition as a plain function of the per-system status masks (bit i set: a live
 * record of that system maps to status i). The compiled rule set evaluates with it, and the
 * analyzer explores mask combinations with the very same function.
 */
export function compileMaskCondition(c: Condition, layout: MaskLayout): (m: ArrayLike<number>) => boolean {
  switch (c.kind) {
    case 'always':
      return () => true;
    case 'system': {
      const i = layout.systemIndex(c.system);
      if (i === undefined) return () => false;
      const test = c.test;
      switch (test.kind) {
        case 'absent':
          return (m) => m[i] === 0;
        case 'present':
          return (m) => m[i] !== 0;
        case 'has': {
          const bits = layout.bits(test.statuses);
          return (m) => (m[i] & bits) !== 0;
        }
      }
      break;
    }
    case 'anySystem': {
      const bits = layout.bits(c.statuses);
      const n = layout.systemCount;
      return (m) => {
        for (let i = 0; i < n; i++) if ((m[i] & bits) !== 0) return true;
        return false;
      };
    }
    case 'allOf': {
      const parts = c.conditions.map((p) => compileMaskCondition(p, layout));
      return (m) => {
        for (const p of parts) if (!p(m)) return false;
        return true;
      };
    }
    case 'anyOf': {
      const parts = c.conditions.map((p) => compileMaskCondition(p, layout));
      return (m) => {
        for (const p of parts) if (p(m)) return true;
        return false;
      };
    }
  }
}

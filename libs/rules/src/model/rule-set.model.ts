/** The validated, typed model of a rule set. Only this model is ever compiled. */

export type HitPolicy = 'FIRST' | 'PRIORITY' | 'UNIQUE';
export type InputType = 'string' | 'number' | 'boolean' | 'date';
export type Scalar = string | number | boolean;

/** A structured cell of a mapping table: never free code. */
export type Cell =
  | { kind: 'any' }
  | { kind: 'equals'; value: Scalar }
  | { kind: 'in'; values: Scalar[] }
  | { kind: 'notIn'; values: Scalar[] }
  | { kind: 'compare'; op: 'lt' | 'lte' | 'gt' | 'gte'; value: number | string }
  | { kind: 'between'; low: number | string; high: number | string }
  | { kind: 'isNull' }
  | { kind: 'isSet' }
  | { kind: 'olderThan'; ms: number; text: string }
  | { kind: 'newerThan'; ms: number; text: string };

export interface InputDef {
  name: string;
  type: InputType;
  allowed?: Scalar[];
}

export interface MappingRule {
  id: string;
  description: string;
  when: Record<string, Cell>;
  then: string;
  fallback: boolean;
}

export interface MappingTable {
  system: string;
  hitPolicy: HitPolicy;
  inputs: InputDef[];
  /** The input whose raw value is reported as unmapped when a fallback rule decides. */
  unmappedInput?: string;
  rules: MappingRule[];
}

/** A condition of the resolution table over the per-system statuses of one customer. */
export type Condition =
  | { kind: 'always' }
  | { kind: 'system'; system: string; test: SystemTest }
  | { kind: 'anySystem'; statuses: string[] }
  | { kind: 'allOf'; conditions: Condition[] }
  | { kind: 'anyOf'; conditions: Condition[] };

/** What one system must show: one of its live records has one of `statuses`, or it has none/some. */
export type SystemTest = { kind: 'has'; statuses: string[] } | { kind: 'absent' } | { kind: 'present' };

export interface ResolutionRule {
  id: string;
  description: string;
  when: Condition;
  then: string;
  fallback: boolean;
}

export interface ResolutionTable {
  hitPolicy: HitPolicy;
  rules: ResolutionRule[];
}

export interface MappingExample {
  system: string;
  raw: Record<string, unknown>;
  expect: { status: string; rule?: string };
}

export interface ResolutionExample {
  systems: Record<string, string[]>;
  expect: { status: string; reason?: string };
}

export interface RuleSet {
  /** Canonical statuses in priority order, highest first. */
  statuses: string[];
  mappings: MappingTable[];
  resolution: ResolutionTable;
  examples: { mappings: MappingExample[]; resolution: ResolutionExample[] };
}

export type Severity = 'error' | 'warning';

/** One thing wrong with a rule set, at a path inside it (e.g. `mappings.crm.rules[2].when.status`). */
export interface Problem {
  path: string;
  message: string;
  severity: Severity;
}

/**
 * The rule set document as the format writes it (docs/rules-format.md), loosely typed: the
 * console edits what the analyst types and leaves every judgement to the API's validation.
 */
export interface InputDoc {
  type: string;
  allowed?: unknown[];
}

export interface MappingRowDoc {
  id: string;
  description: string;
  when: Record<string, unknown>;
  then: string;
  fallback?: boolean;
}

export interface MappingTableDoc {
  hitPolicy: string;
  inputs: Record<string, InputDoc>;
  unmappedInput?: string;
  rules: MappingRowDoc[];
}

export interface ResolutionRowDoc {
  id: string;
  description: string;
  when: Record<string, unknown>;
  then: string;
  fallback?: boolean;
}

export interface MappingExampleDoc {
  system: string;
  raw: Record<string, unknown>;
  expect: { status: string; rule?: string };
}

export interface ResolutionExampleDoc {
  systems: Record<string, string[]>;
  expect: { status: string; reason?: string };
}

export interface RuleSetDoc {
  statuses: string[];
  mappings: Record<string, MappingTableDoc>;
  resolution: { hitPolicy: string; rules: ResolutionRowDoc[] };
  examples?: { mappings?: MappingExampleDoc[]; resolution?: ResolutionExampleDoc[] };
  [key: string]: unknown;
}

export type TableRef = { kind: 'mapping'; system: string } | { kind: 'resolution' };

export const tablePath = (t: TableRef): string => (t.kind === 'mapping' ? `mappings.${t.system}` : 'resolution');

/** Rows of a table (a new array is a new table: rows not touched keep their identity, so they do not re-render). */
export function rowsOf(doc: RuleSetDoc, t: TableRef): Array<MappingRowDoc | ResolutionRowDoc> {
  return t.kind === 'mapping' ? (doc.mappings[t.system]?.rules ?? []) : (doc.resolution?.rules ?? []);
}

export function withRows(doc: RuleSetDoc, t: TableRef, rows: Array<MappingRowDoc | ResolutionRowDoc>): RuleSetDoc {
  if (t.kind === 'resolution') return { ...doc, resolution: { ...doc.resolution, rules: rows as ResolutionRowDoc[] } };
  return { ...doc, mappings: { ...doc.mappings, [t.system]: { ...doc.mappings[t.system], rules: rows as MappingRowDoc[] } } };
}

export function withRow(doc: RuleSetDoc, t: TableRef, index: number, row: MappingRowDoc | ResolutionRowDoc): RuleSetDoc {
  const rows = rowsOf(doc, t).slice();
  rows[index] = row;
  return withRows(doc, t, rows);
}

/** A row id not used in the table yet, from a readable base. */
export function freshId(rows: Array<{ id: string }>, base: string): string {
  const slug = base.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'rule';
  const ids = new Set(rows.map((r) => r.id));
  if (!ids.has(slug)) return slug;
  for (let i = 2; ; i++) if (!ids.has(`${slug}-${i}`)) return `${slug}-${i}`;
}

/** Where new rows go: before the fallback row, which has to stay last to mean "anything else". */
export function insertionIndex(rows: Array<{ fallback?: boolean }>): number {
  const fallback = rows.findIndex((r) => r.fallback);
  return fallback < 0 ? rows.length : fallback;
}

/** A raw value as the unmapped-values list shows it ("5", "LEAD", "null"), typed like the input it belongs to. */
export function typedValue(text: string, type: string | undefined): unknown {
  if (text === 'null') return null;
  if (type === 'number' && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/**
 * The draft for "add a rule" from an unmapped value: a row mapping exactly that value, before the
 * fallback, its output left for the analyst to choose; the value joins the input's allowed values.
 */
export function withRuleForValue(doc: RuleSetDoc, system: string, field: string, text: string): { doc: RuleSetDoc; index: number } {
  const table = doc.mappings[system];
  if (!table) throw new Error(`the active rule set has no mapping table for ${system}`);
  const input = table.inputs[field];
  const value = typedValue(text, input?.type);
  const index = insertionIndex(table.rules);
  const row: MappingRowDoc = { id: freshId(table.rules, `${system}-${text}`), description: `${field} ${text}`, when: { [field]: value }, then: '' };
  const rules = [...table.rules.slice(0, index), row, ...table.rules.slice(index)];
  const inputs =
    input?.allowed && !input.allowed.some((v) => JSON.stringify(v) === JSON.stringify(value)) ? { ...table.inputs, [field]: { ...input, allowed: [...input.allowed, value] } } : table.inputs;
  return { doc: { ...doc, mappings: { ...doc.mappings, [system]: { ...table, inputs, rules } } }, index };
}

/** Keys first in this order, the others after them as they came. */
function ordered<T extends object>(o: T, keys: string[]): T {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return o;
  const src = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in src) out[k] = src[k];
  for (const k of Object.keys(src)) if (!(k in out)) out[k] = src[k];
  return out as T;
}

const ROW_KEYS = ['id', 'description', 'when', 'then', 'fallback'];

/**
 * The document's keys in the order of the format's reference (docs/rules-format.md): stored
 * versions come back from PostgreSQL's jsonb with their keys sorted by length, which reads badly
 * in the YAML view. Only the order changes; the checksum ignores it.
 */
export function readableOrder(doc: RuleSetDoc): RuleSetDoc {
  const d = ordered(doc, ['statuses', 'mappings', 'resolution', 'examples']);
  const mappings = Object.fromEntries(
    Object.entries(d.mappings ?? {}).map(([system, t]) => [
      system,
      { ...ordered(t, ['hitPolicy', 'inputs', 'unmappedInput', 'rules']), inputs: Object.fromEntries(Object.entries(t.inputs ?? {}).map(([k, i]) => [k, ordered(i, ['type', 'allowed'])])), rules: (t.rules ?? []).map((r) => ordered(r, ROW_KEYS)) },
    ]),
  );
  const resolution = d.resolution ? { ...ordered(d.resolution, ['hitPolicy', 'rules']), rules: (d.resolution.rules ?? []).map((r) => ordered(r, ROW_KEYS)) } : d.resolution;
  const examples = d.examples
    ? {
        ...ordered(d.examples, ['mappings', 'resolution']),
        ...(d.examples.mappings ? { mappings: d.examples.mappings.map((e) => ordered(e, ['system', 'raw', 'expect'])) } : {}),
        ...(d.examples.resolution ? { resolution: d.examples.resolution.map((e) => ordered(e, ['systems', 'expect'])) } : {}),
      }
    : d.examples;
  return { ...d, mappings, resolution, ...(examples ? { examples } : {}) };
}

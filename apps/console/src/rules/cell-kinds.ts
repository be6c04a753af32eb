/**
 * The structured cells of a mapping table (docs/rules-format.md, "Inputs and cells"), between the
 * document's form and the cell editor's. No cell is free code; what a kind means is decided by
 * the rules library on the server.
 */
export type CellKind = 'any' | 'equals' | 'in' | 'notIn' | 'lt' | 'lte' | 'gt' | 'gte' | 'between' | 'isNull' | 'isSet' | 'olderThan' | 'newerThan';

export const CELL_KINDS: Array<{ kind: CellKind; label: string; values: 0 | 1 | 2 | 'list' }> = [
  { kind: 'any', label: 'any', values: 0 },
  { kind: 'equals', label: 'equals', values: 1 },
  { kind: 'in', label: 'in', values: 'list' },
  { kind: 'notIn', label: 'not in', values: 'list' },
  { kind: 'lt', label: '<', values: 1 },
  { kind: 'lte', label: '≤', values: 1 },
  { kind: 'gt', label: '>', values: 1 },
  { kind: 'gte', label: '≥', values: 1 },
  { kind: 'between', label: 'between', values: 2 },
  { kind: 'isNull', label: 'is null', values: 0 },
  { kind: 'isSet', label: 'is set', values: 0 },
  { kind: 'olderThan', label: 'older than', values: 1 },
  { kind: 'newerThan', label: 'newer than', values: 1 },
];

export interface CellForm {
  kind: CellKind;
  /** The values as typed, one per field (a list is comma-separated). */
  values: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const listText = (v: unknown): string => (Array.isArray(v) ? v.map(text).join(', ') : text(v));

/** How a document cell reads in the editor; a cell of an unknown shape is shown as its JSON, kind "equals". */
export function toForm(cell: unknown): CellForm {
  if (cell === undefined) return { kind: 'any', values: [] };
  if (cell === null) return { kind: 'isNull', values: [] };
  if (Array.isArray(cell)) return { kind: 'in', values: [listText(cell)] };
  if (!isObj(cell)) return { kind: 'equals', values: [text(cell)] };
  const [key, value] = Object.entries(cell)[0] ?? ['any', true];
  switch (key) {
    case 'any':
      return { kind: 'any', values: [] };
    case 'isNull':
      return { kind: 'isNull', values: [] };
    case 'isSet':
      return { kind: 'isSet', values: [] };
    case 'in':
    case 'notIn':
      return { kind: key, values: [listText(value)] };
    case 'between':
      return { kind: 'between', values: Array.isArray(value) ? value.map(text) : [text(value), ''] };
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
    case 'olderThan':
    case 'newerThan':
      return { kind: key, values: [text(value)] };
    default:
      return { kind: 'equals', values: [JSON.stringify(cell)] };
  }
}

/** A typed value: numbers and booleans for such inputs, text otherwise; the API says if it does not fit. */
export function parseValue(raw: string, type: string | undefined): unknown {
  const t = raw.trim();
  if (type === 'number' && t !== '' && Number.isFinite(Number(t))) return Number(t);
  if (type === 'boolean' && (t === 'true' || t === 'false')) return t === 'true';
  return t;
}

const parseList = (raw: string, type: string | undefined): unknown[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => parseValue(s, type));

/** The document cell for an editor form; `undefined` means the input is left out of the row ("any"). */
export function fromForm(form: CellForm, type: string | undefined): unknown {
  const v = (i: number) => parseValue(form.values[i] ?? '', type);
  switch (form.kind) {
    case 'any':
      return undefined;
    case 'equals':
      return v(0);
    case 'in':
      return parseList(form.values[0] ?? '', type);
    case 'notIn':
      return { notIn: parseList(form.values[0] ?? '', type) };
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return { [form.kind]: v(0) };
    case 'between':
      return { between: [v(0), v(1)] };
    case 'isNull':
      return { isNull: true };
    case 'isSet':
      return { isSet: true };
    case 'olderThan':
    case 'newerThan':
      return { [form.kind]: (form.values[0] ?? '').trim() };
  }
}

/** A cell as the table shows it: "ACTIVE", "∈ A, B", "≥ 10", "1 … 5", "is set", "-" for any. */
export function cellLabel(cell: unknown): string {
  const f = toForm(cell);
  switch (f.kind) {
    case 'any':
      return '–';
    case 'equals':
      return f.values[0];
    case 'in':
      return `∈ ${f.values[0]}`;
    case 'notIn':
      return `∉ ${f.values[0]}`;
    case 'lt':
      return `< ${f.values[0]}`;
    case 'lte':
      return `≤ ${f.values[0]}`;
    case 'gt':
      return `> ${f.values[0]}`;
    case 'gte':
      return `≥ ${f.values[0]}`;
    case 'between':
      return `${f.values[0]} … ${f.values[1]}`;
    case 'isNull':
      return 'is null';
    case 'isSet':
      return 'is set';
    case 'olderThan':
      return `older than ${f.values[0]}`;
    case 'newerThan':
      return `newer than ${f.values[0]}`;
  }
}

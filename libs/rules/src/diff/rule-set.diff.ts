import { canonicalJson } from '../compiler/rule-set.compiler';

/**
 * What changed between two rule set documents, rule by rule: the vocabulary, each table's hit
 * policy and inputs (their type and allowed values), and its rows matched by their stable id —
 * added, removed, changed (with the cells that changed) or moved (a reorder changes what a FIRST
 * table decides). Works on raw documents, so any two stored versions compare, even ones stored
 * before a limit existed. Pure: the CLI's `rules diff` and the console's history use it.
 */

export type Change = 'added' | 'removed' | 'changed';

/** One cell of a row: an input's condition, or `then`, `description`, `fallback` (`when` for resolution rows). */
export interface CellChange {
  column: string;
  /** The cell as it was, undefined when absent (an input left out means "any"). */
  before: unknown;
  after: unknown;
}

export interface RowDiff {
  id: string;
  change: Change | 'moved';
  /** Positions in the table's rows, from 0; null where the row is absent. */
  beforeIndex: number | null;
  afterIndex: number | null;
  cells: CellChange[];
}

export interface InputDiff {
  name: string;
  change: Change;
  typeBefore: string | null;
  typeAfter: string | null;
  /** Allowed values added or removed; a list that appears or disappears counts whole. */
  allowedAdded: unknown[];
  allowedRemoved: unknown[];
}

export interface TableDiff {
  /** `mappings.<system>` or `resolution`. */
  table: string;
  change: Change;
  hitPolicy: { before: string | null; after: string | null } | null;
  unmappedInput: { before: string | null; after: string | null } | null;
  inputs: InputDiff[];
  rows: RowDiff[];
}

export interface RuleSetDiff {
  statuses: { added: string[]; removed: string[]; reordered: boolean };
  /** Only tables with a change. */
  tables: TableDiff[];
  examples: { before: number; after: number; changed: boolean };
  /** True when nothing above changed. */
  empty: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

export function diffRuleSets(before: unknown, after: unknown): RuleSetDiff {
  const a = obj(before);
  const b = obj(after);
  const sa = list(a.statuses).map(String);
  const sb = list(b.statuses).map(String);
  const statuses = {
    added: sb.filter((s) => !sa.includes(s)),
    removed: sa.filter((s) => !sb.includes(s)),
    reordered: false,
  };
  const common = (xs: string[], ys: string[]) => xs.filter((s) => ys.includes(s));
  statuses.reordered = !same(common(sa, sb), common(sb, sa));

  const tables: TableDiff[] = [];
  const ma = obj(a.mappings);
  const mb = obj(b.mappings);
  for (const system of [...Object.keys(ma), ...Object.keys(mb).filter((s) => !(s in ma))]) {
    const t = diffTable(`mappings.${system}`, ma[system], mb[system], true);
    if (t) tables.push(t);
  }
  const r = diffTable('resolution', a.resolution, b.resolution, false);
  if (r) tables.push(r);

  const count = (d: Obj) => list(obj(d.examples).mappings).length + list(obj(d.examples).resolution).length;
  const examples = { before: count(a), after: count(b), changed: !same(a.examples ?? null, b.examples ?? null) };
  const empty = statuses.added.length === 0 && statuses.removed.length === 0 && !statuses.reordered && tables.length === 0 && !examples.changed;
  return { statuses, tables, examples, empty };
}

function diffTable(name: string, before: unknown, after: unknown, mapping: boolean): TableDiff | null {
  const a = obj(before);
  const b = obj(after);
  const change: Change = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
  const field = (k: string) => (same(a[k] ?? null, b[k] ?? null) ? null : { before: str(a[k]), after: str(b[k]) });
  const inputs = mapping ? diffInputs(obj(a.inputs), obj(b.inputs)) : [];
  const columns = mapping ? [...new Set([...Object.keys(obj(a.inputs)), ...Object.keys(obj(b.inputs))])] : [];
  const rows = diffRows(list(a.rules), list(b.rules), mapping, columns);
  const t: TableDiff = { table: name, change, hitPolicy: field('hitPolicy'), unmappedInput: mapping ? field('unmappedInput') : null, inputs, rows };
  return change !== 'changed' || t.hitPolicy || t.unmappedInput || inputs.length || rows.length ? t : null;
}

function diffInputs(a: Obj, b: Obj): InputDiff[] {
  const out: InputDiff[] = [];
  for (const name of [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))]) {
    const x = a[name] === undefined ? undefined : obj(a[name]);
    const y = b[name] === undefined ? undefined : obj(b[name]);
    if (x && y && same(x, y)) continue;
    const ax = list(x?.allowed);
    const ay = list(y?.allowed);
    out.push({
      name,
      change: !x ? 'added' : !y ? 'removed' : 'changed',
      typeBefore: str(x?.type),
      typeAfter: str(y?.type),
      allowedAdded: ay.filter((v) => !ax.some((w) => same(v, w))),
      allowedRemoved: ax.filter((v) => !ay.some((w) => same(v, w))),
    });
  }
  return out;
}

function diffRows(a: unknown[], b: unknown[], mapping: boolean, inputs: string[]): RowDiff[] {
  const id = (r: unknown, i: number) => str(obj(r).id) ?? `#${i + 1}`;
  const ia = new Map(a.map((r, i) => [id(r, i), i]));
  const ib = new Map(b.map((r, i) => [id(r, i), i]));
  const cellsOf = (r: unknown): Map<string, unknown> => {
    const o = obj(r);
    const cells = new Map<string, unknown>();
    if (mapping) {
      const when = obj(o.when);
      for (const k of [...inputs, ...Object.keys(when).filter((k) => !inputs.includes(k))]) cells.set(k, when[k]);
    } else cells.set('when', o.when);
    cells.set('then', o.then);
    cells.set('description', o.description);
    cells.set('fallback', o.fallback ?? false);
    return cells;
  };
  // Rows kept in the same relative order: the longest increasing run of their new positions;
  // the others moved.
  const kept = [...ia.keys()].filter((k) => ib.has(k));
  const inOrder = longestIncreasing(kept.map((k) => ib.get(k)!));
  const stayed = new Set(inOrder.map((i) => kept[i]));

  const out: RowDiff[] = [];
  b.forEach((row, j) => {
    const k = id(row, j);
    const i = ia.get(k);
    if (i === undefined) {
      out.push({ id: k, change: 'added', beforeIndex: null, afterIndex: j, cells: [...cellsOf(row)].filter(([, v]) => v !== undefined).map(([column, v]) => ({ column, before: undefined, after: v })) });
      return;
    }
    const x = cellsOf(a[i]);
    const y = cellsOf(row);
    const cells: CellChange[] = [];
    for (const column of new Set([...x.keys(), ...y.keys()])) {
      if (!same(x.get(column) ?? null, y.get(column) ?? null)) cells.push({ column, before: x.get(column), after: y.get(column) });
    }
    if (cells.length) out.push({ id: k, change: 'changed', beforeIndex: i, afterIndex: j, cells });
    else if (!stayed.has(k)) out.push({ id: k, change: 'moved', beforeIndex: i, afterIndex: j, cells: [] });
  });
  a.forEach((row, i) => {
    const k = id(row, i);
    if (!ib.has(k)) out.push({ id: k, change: 'removed', beforeIndex: i, afterIndex: null, cells: [...cellsOf(row)].filter(([, v]) => v !== undefined).map(([column, v]) => ({ column, before: v, after: undefined })) });
  });
  return out;
}

/** Indexes of one longest strictly increasing subsequence (patience sorting, O(n log n)). */
function longestIncreasing(xs: number[]): number[] {
  const tails: number[] = [];
  const prev = new Array<number>(xs.length).fill(-1);
  xs.forEach((x, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[tails[mid]] < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1];
    tails[lo] = i;
  });
  const out: number[] = [];
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) out.unshift(i);
  return out;
}

const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));

/** The diff as lines for a terminal: `+` added, `-` removed, `~` changed, `↕` moved. */
export function describeRuleSetDiff(d: RuleSetDiff): string[] {
  const lines: string[] = [];
  if (d.statuses.added.length) lines.push(`+ statuses: ${d.statuses.added.join(', ')}`);
  if (d.statuses.removed.length) lines.push(`- statuses: ${d.statuses.removed.join(', ')}`);
  if (d.statuses.reordered) lines.push('~ statuses: priority order changed');
  for (const t of d.tables) {
    if (t.change !== 'changed') lines.push(`${t.change === 'added' ? '+' : '-'} ${t.table}`);
    if (t.hitPolicy) lines.push(`~ ${t.table}: hit policy ${t.hitPolicy.before ?? '(none)'} → ${t.hitPolicy.after ?? '(none)'}`);
    if (t.unmappedInput) lines.push(`~ ${t.table}: unmapped input ${t.unmappedInput.before ?? '(none)'} → ${t.unmappedInput.after ?? '(none)'}`);
    for (const i of t.inputs) {
      if (i.change === 'added') lines.push(`+ ${t.table}: input ${i.name}`);
      else if (i.change === 'removed') lines.push(`- ${t.table}: input ${i.name}`);
      else {
        const parts = [
          ...(i.typeBefore !== i.typeAfter ? [`type ${i.typeBefore ?? '(none)'} → ${i.typeAfter ?? '(none)'}`] : []),
          ...(i.allowedAdded.length ? [`allowed + ${i.allowedAdded.map(show).join(', ')}`] : []),
          ...(i.allowedRemoved.length ? [`allowed - ${i.allowedRemoved.map(show).join(', ')}`] : []),
        ];
        lines.push(`~ ${t.table}: input ${i.name}${parts.length ? ` (${parts.join('; ')})` : ''}`);
      }
    }
    for (const r of t.rows) {
      if (r.change === 'added') lines.push(`+ ${t.table}: ${r.id}`);
      else if (r.change === 'removed') lines.push(`- ${t.table}: ${r.id}`);
      else if (r.change === 'moved') lines.push(`↕ ${t.table}: ${r.id} moved from row ${(r.beforeIndex ?? 0) + 1} to ${(r.afterIndex ?? 0) + 1}`);
      else lines.push(`~ ${t.table}: ${r.id} (${r.cells.map((c) => `${c.column}: ${show(c.before)} → ${show(c.after)}`).join('; ')})`);
    }
  }
  if (d.examples.changed) lines.push(`~ examples: ${d.examples.before} → ${d.examples.after}`);
  return lines;
}

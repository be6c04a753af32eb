import { memo } from 'preact/compat';
import { useCallback, useMemo, useRef, useState } from 'preact/hooks';
import { parse, stringify } from 'yaml';
import type { RuleProblem } from '../../api/generated/graphql';
import { cellLabel } from '../../rules/cell-kinds';
import type { ProblemIndex } from '../../rules/problem-places';
import { freshId, insertionIndex, rowsOf, tablePath, withRow, withRows, type InputDoc, type MappingRowDoc, type ResolutionRowDoc, type RuleSetDoc, type TableRef } from '../../rules/rule-set-document';
import { CellEditor } from './cell-editor';

type Row = MappingRowDoc | ResolutionRowDoc;
type RowAction = 'up' | 'down' | 'remove' | 'insert';

const HIT_POLICIES = ['FIRST', 'PRIORITY', 'UNIQUE'];

/** A resolution condition as one line of YAML (`{ absent: true }`, `[ACTIVE, PENDING]`). */
const flow = (v: unknown): string => (v === undefined ? '' : stringify(v, { collectionStyle: 'flow', lineWidth: 0 }).trim());
function readFlow(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return parse(text) as unknown;
  } catch {
    return text; // kept as typed; validation reports it at its path
  }
}

/**
 * One rule table as a decision table: inputs as columns, one row per rule with its cells, the
 * output, id and description; rows added, removed and moved in place. Problems from validation
 * show on their cell (or row, or column header). Rows are memoized, so that editing one cell of
 * a table of hundreds of rows re-renders that row alone.
 */
export function DecisionTable({
  doc,
  table,
  problems,
  onChange,
  readOnly,
}: {
  doc: RuleSetDoc;
  table: TableRef;
  problems: ProblemIndex;
  onChange: (doc: RuleSetDoc) => void;
  readOnly: boolean;
}) {
  const path = tablePath(table);
  const rows = rowsOf(doc, table);
  const mapping = table.kind === 'mapping' ? doc.mappings[table.system] : null;
  const columns: Array<{ name: string; def?: InputDoc }> = mapping
    ? Object.entries(mapping.inputs ?? {}).map(([name, def]) => ({ name, def }))
    : [...Object.keys(doc.mappings ?? {}).map((name) => ({ name })), { name: 'anySystem' }, { name: 'combined' }];
  const [editing, setEditing] = useState<string | null>(null);

  // Stable callbacks for the memoized rows: they read the latest document from a ref.
  const latest = useRef({ doc, onChange });
  latest.current = { doc, onChange };
  const setRow = useCallback((index: number, row: Row) => latest.current.onChange(withRow(latest.current.doc, table, index, row)), [path]);
  const act = useCallback(
    (index: number, action: RowAction) => {
      const { doc: d, onChange: change } = latest.current;
      const rs = rowsOf(d, table).slice();
      if (action === 'remove') rs.splice(index, 1);
      else if (action === 'up' && index > 0) [rs[index - 1], rs[index]] = [rs[index], rs[index - 1]];
      else if (action === 'down' && index < rs.length - 1) [rs[index + 1], rs[index]] = [rs[index], rs[index + 1]];
      else if (action === 'insert') rs.splice(index + 1, 0, { id: freshId(rs, 'new-rule'), description: '', when: {}, then: '' });
      change(withRows(d, table, rs));
    },
    [path],
  );
  const addRow = () => {
    const at = insertionIndex(rows);
    const rs = rows.slice();
    rs.splice(at, 0, { id: freshId(rs, 'new-rule'), description: '', when: {}, then: '' });
    onChange(withRows(doc, table, rs));
  };
  const setHitPolicy = (hitPolicy: string) =>
    onChange(table.kind === 'mapping' ? { ...doc, mappings: { ...doc.mappings, [table.system]: { ...doc.mappings[table.system], hitPolicy } } } : { ...doc, resolution: { ...doc.resolution, hitPolicy } });
  const hitPolicy = mapping ? mapping.hitPolicy : doc.resolution.hitPolicy;
  const tableProblems = problems.at(path);
  const columnsKey = columns.map((c) => `${c.name}:${JSON.stringify(c.def ?? null)}`).join('|');
  const byRow = useMemo(() => problemsByRow(problems, path), [problems, path]);

  return (
    <div class="decision-table-wrap">
      <div class="table-bar">
        <label>
          Hit policy{' '}
          <select value={hitPolicy} disabled={readOnly} onChange={(e) => setHitPolicy(e.currentTarget.value)} data-testid="hit-policy">
            {HIT_POLICIES.map((h) => (
              <option key={h}>{h}</option>
            ))}
          </select>
        </label>
        <span class="muted">
          {rows.length} rows · {hitPolicy === 'FIRST' ? 'the first matching row decides' : hitPolicy === 'PRIORITY' ? 'the matching row with the highest-priority status decides' : 'at most one row may match'}
        </span>
        {!readOnly ? (
          <button type="button" onClick={addRow} data-testid="add-row">
            Add row
          </button>
        ) : null}
      </div>
      {tableProblems.length ? <ProblemList problems={tableProblems} /> : null}
      <div class="scroll">
        <table class="decision-table" data-table={path}>
          <caption class="sr-only">{table.kind === 'mapping' ? `${table.system} mapping table` : 'resolution table'}</caption>
          <thead>
            <tr>
              <th scope="col" class="n">
                #
              </th>
              <th scope="col">id</th>
              {columns.map((c) => {
                const ps = problems.at(`${path}|input:${c.name}`);
                return (
                  <th scope="col" key={c.name} class={`input${ps.length ? ' has-problem' : ''}`} data-input={c.name}>
                    <span class="col-name">{c.name === 'combined' ? 'any of / all of' : c.name === 'anySystem' ? 'any system' : c.name}</span>
                    {c.def ? (
                      <small>
                        {c.def.type}
                        {c.def.allowed ? ` · ${c.def.allowed.map((v) => JSON.stringify(v)).join(' ')}` : ''}
                        {mapping?.unmappedInput === c.name ? ' · reported when unmapped' : ''}
                      </small>
                    ) : (
                      <small>{c.name === 'combined' ? 'conditions' : 'status'}</small>
                    )}
                    {ps.length ? <ProblemList problems={ps} compact /> : null}
                  </th>
                );
              })}
              <th scope="col" class="output">
                then
                <small>canonical status</small>
              </th>
              <th scope="col">description</th>
              <th scope="col">fallback</th>
              {!readOnly ? (
                <th scope="col">
                  <span class="sr-only">Row actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <DecisionRow
                key={i}
                row={row}
                index={i}
                count={rows.length}
                path={path}
                mapping={table.kind === 'mapping'}
                columns={columns}
                columnsKey={columnsKey}
                problems={byRow.get(i) ?? NO_PROBLEMS}
                editing={editing?.startsWith(`${i}|`) ? editing : null}
                setEditing={setEditing}
                setRow={setRow}
                act={act}
                readOnly={readOnly}
              />
            ))}
          </tbody>
        </table>
      </div>
      <datalist id="statuses">
        {(doc.statuses ?? []).map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
    </div>
  );
}

const NO_PROBLEMS: RuleProblem[] = [];

/** The problems of each row of a table, by row index, computed once per validation. */
function problemsByRow(problems: ProblemIndex, path: string): Map<number, RuleProblem[]> {
  const out = new Map<number, RuleProblem[]>();
  const prefix = `${path}.rules[`;
  for (const p of problems.at(`table:${path}`)) {
    if (!p.path.startsWith(prefix)) continue;
    const i = Number.parseInt(p.path.slice(prefix.length), 10);
    const list = out.get(i);
    if (list) list.push(p);
    else out.set(i, [p]);
  }
  return out;
}

interface RowProps {
  row: Row;
  index: number;
  count: number;
  path: string;
  mapping: boolean;
  columns: Array<{ name: string; def?: InputDoc }>;
  columnsKey: string;
  problems: RuleProblem[];
  editing: string | null;
  setEditing: (key: string | null) => void;
  setRow: (index: number, row: Row) => void;
  act: (index: number, action: RowAction) => void;
  readOnly: boolean;
}

const sameProblems = (a: RuleProblem[], b: RuleProblem[]) => a.length === b.length && a.every((p, i) => p.path === b[i].path && p.message === b[i].message && p.severity === b[i].severity);

const DecisionRow = memo(
  function DecisionRow({ row, index, count, path, mapping, columns, problems, editing, setEditing, setRow, act, readOnly }: RowProps) {
    const base = `${path}.rules[${index}]`;
    const at = (column: string) =>
      problems.filter((p) => {
        const rest = p.path.slice(base.length);
        if (column === 'row') return rest === '';
        if (['id', 'then', 'description', 'fallback'].includes(column)) return rest === `.${column}` || rest.startsWith(`.${column}.`) || rest.startsWith(`.${column}[`);
        if (column === 'combined') return /^\.when(\.(anyOf|allOf)|$)/.test(rest) && !columns.some((c) => c.name !== 'combined' && rest.startsWith(`.when.${c.name}`));
        return rest === `.when.${column}` || rest.startsWith(`.when.${column}.`) || rest.startsWith(`.when.${column}[`);
      });
    const when = row.when && typeof row.when === 'object' ? row.when : {};
    const setWhen = (name: string, value: unknown) => {
      const next: Record<string, unknown> = { ...when };
      if (value === undefined) delete next[name];
      else next[name] = value;
      setRow(index, { ...row, when: next });
    };
    const rowProblems = at('row');
    const cls = [row.fallback ? 'fallback' : '', problems.some((p) => p.severity === 'ERROR') ? 'row-error' : problems.length ? 'row-warning' : ''].join(' ');
    const text = (column: 'id' | 'then' | 'description', extra: Record<string, string> = {}) => {
      const ps = at(column);
      return (
        <td class={`${column}${ps.length ? ` has-problem ${ps[0].severity.toLowerCase()}` : ''}`} data-cell={`${base}.${column}`}>
          <input
            aria-label={`row ${index + 1} ${column}`}
            aria-invalid={ps.some((p) => p.severity === 'ERROR') ? 'true' : undefined}
            value={row[column] ?? ''}
            readOnly={readOnly}
            onInput={(e) => setRow(index, { ...row, [column]: e.currentTarget.value })}
            {...extra}
          />
          {ps.length ? <CellProblems problems={ps} /> : null}
        </td>
      );
    };
    return (
      <tr class={cls} data-row={base}>
        <th scope="row" class="n">
          {index + 1}
          {rowProblems.length ? <CellProblems problems={rowProblems} /> : null}
        </th>
        {text('id')}
        {columns.map((c) => {
          const ps = at(c.name);
          const key = `${index}|${c.name}`;
          const cell = c.name === 'combined' ? combinedOf(when) : when[c.name];
          const label = `row ${index + 1} ${c.name}`;
          return (
            <td key={c.name} class={`cond${c.name === 'combined' ? ' combined' : ''}${ps.length ? ` has-problem ${ps[0].severity.toLowerCase()}` : ''}`} data-cell={`${base}.when.${c.name}`}>
              {mapping ? (
                editing === key && !readOnly ? (
                  <CellEditor cell={cell} type={c.def?.type} label={label} onChange={(v) => setWhen(c.name, v)} onClose={() => setEditing(null)} />
                ) : (
                  <button type="button" class="cell" aria-label={`${label}: ${cellLabel(cell)}`} disabled={readOnly} onClick={() => setEditing(key)}>
                    {cellLabel(cell)}
                  </button>
                )
              ) : (
                <input
                  aria-label={label}
                  title={flow(cell)}
                  value={flow(cell)}
                  readOnly={readOnly}
                  placeholder="–"
                  onChange={(e) => {
                    const v = readFlow(e.currentTarget.value);
                    if (c.name !== 'combined') return setWhen(c.name, v);
                    const rest = Object.fromEntries(Object.entries(when).filter(([k]) => k !== 'anyOf' && k !== 'allOf'));
                    setRow(index, { ...row, when: { ...rest, ...(v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}) } });
                  }}
                />
              )}
              {ps.length ? <CellProblems problems={ps} /> : null}
            </td>
          );
        })}
        {text('then', { list: 'statuses' })}
        {text('description')}
        <td class="fallback-cell" data-cell={`${base}.fallback`}>
          <input
            type="checkbox"
            aria-label={`row ${index + 1} is the fallback`}
            checked={row.fallback === true}
            disabled={readOnly}
            onChange={(e) => {
              const next = { ...row };
              if (e.currentTarget.checked) next.fallback = true;
              else delete next.fallback;
              setRow(index, next);
            }}
          />
          {at('fallback').length ? <CellProblems problems={at('fallback')} /> : null}
        </td>
        {!readOnly ? (
          <td class="row-actions">
            <button type="button" aria-label={`move row ${index + 1} up`} disabled={index === 0} onClick={() => act(index, 'up')}>
              ↑
            </button>
            <button type="button" aria-label={`move row ${index + 1} down`} disabled={index === count - 1} onClick={() => act(index, 'down')}>
              ↓
            </button>
            <button type="button" aria-label={`insert a row after row ${index + 1}`} onClick={() => act(index, 'insert')}>
              +
            </button>
            <button type="button" aria-label={`remove row ${index + 1}`} onClick={() => act(index, 'remove')}>
              ✕
            </button>
          </td>
        ) : null}
      </tr>
    );
  },
  (a, b) =>
    a.row === b.row &&
    a.index === b.index &&
    a.count === b.count &&
    a.columnsKey === b.columnsKey &&
    a.editing === b.editing &&
    a.readOnly === b.readOnly &&
    a.setRow === b.setRow &&
    sameProblems(a.problems, b.problems),
);

function combinedOf(when: Record<string, unknown>): unknown {
  const out = Object.fromEntries(Object.entries(when).filter(([k]) => k === 'anyOf' || k === 'allOf'));
  return Object.keys(out).length ? out : undefined;
}

export function CellProblems({ problems }: { problems: RuleProblem[] }) {
  return (
    <ul class="cell-problems">
      {problems.map((p, i) => (
        <li key={i} class={p.severity.toLowerCase()}>
          <span class="sr-only">{p.severity.toLowerCase()}: </span>
          {p.message}
        </li>
      ))}
    </ul>
  );
}

export function ProblemList({ problems, compact }: { problems: RuleProblem[]; compact?: boolean }) {
  return (
    <ul class={`problem-list${compact ? ' compact' : ''}`}>
      {problems.map((p, i) => (
        <li key={i} class={p.severity.toLowerCase()}>
          <strong>{p.severity === 'ERROR' ? 'Error' : 'Warning'}</strong> {compact ? null : <code>{p.path}</code>} {p.message}
        </li>
      ))}
    </ul>
  );
}

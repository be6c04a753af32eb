import { useEffect, useRef, useState } from 'preact/hooks';
import { CELL_KINDS, fromForm, toForm, type CellForm, type CellKind } from '../../rules/cell-kinds';

/**
 * The editor of one condition cell of a mapping table: a kind (any, equals, in, not in,
 * comparisons, between, is null / is set, relative dates) and its values. Every change applies at
 * once; Escape or Done closes it.
 */
export function CellEditor({ cell, type, label, onChange, onClose }: { cell: unknown; type: string | undefined; label: string; onChange: (cell: unknown) => void; onClose: () => void }) {
  const [form, setForm] = useState<CellForm>(() => toForm(cell));
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const spec = CELL_KINDS.find((k) => k.kind === form.kind)!;
  const update = (next: CellForm) => {
    setForm(next);
    onChange(fromForm(next, type));
  };
  const value = (i: number, placeholder: string) => (
    <input
      aria-label={`${label}: ${placeholder}`}
      placeholder={placeholder}
      value={form.values[i] ?? ''}
      onInput={(e) => {
        const values = form.values.slice();
        values[i] = e.currentTarget.value;
        update({ ...form, values });
      }}
    />
  );
  return (
    <div
      class="cell-editor"
      role="dialog"
      aria-label={`Edit ${label}`}
      onKeyDown={(e) => {
        if (e.key === 'Escape' || (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT')) {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <select ref={first} aria-label={`${label}: kind`} value={form.kind} onChange={(e) => update({ kind: e.currentTarget.value as CellKind, values: form.values })}>
        {CELL_KINDS.map((k) => (
          <option key={k.kind} value={k.kind}>
            {k.label}
          </option>
        ))}
      </select>
      {spec.values === 1 ? value(0, form.kind === 'olderThan' || form.kind === 'newerThan' ? 'e.g. 30d' : 'value') : null}
      {spec.values === 'list' ? value(0, 'values, comma-separated') : null}
      {spec.values === 2 ? (
        <>
          {value(0, 'from')}
          {value(1, 'to')}
        </>
      ) : null}
      <button type="button" onClick={onClose}>
        Done
      </button>
    </div>
  );
}

import type { RuleSetDiff, TableDiff } from '../../api/generated/graphql';
import { DiffChange } from '../../api/generated/graphql';

const show = (json: string | null | undefined): string => {
  if (json === null || json === undefined) return '–';
  const v = JSON.parse(json) as unknown;
  return typeof v === 'string' ? v : JSON.stringify(v);
};

/** Two versions rule by rule: vocabulary, per table the hit policy, inputs and allowed values, rows added, removed, changed (cells highlighted) or moved. */
export function VersionDiff({ diff }: { diff: RuleSetDiff }) {
  if (diff.empty) return <p data-testid="diff-empty">Versions {diff.from} and {diff.to} are the same rule set.</p>;
  return (
    <div class="diff" data-testid="diff">
      {diff.statusesAdded.length || diff.statusesRemoved.length || diff.statusesReordered ? (
        <p>
          Statuses: {diff.statusesAdded.map((s) => <ins key={s}>{s}</ins>)} {diff.statusesRemoved.map((s) => <del key={s}>{s}</del>)}
          {diff.statusesReordered ? ' (priority order changed)' : ''}
        </p>
      ) : null}
      {diff.tables.map((t) => (
        <TableChanges key={t.table} t={t} />
      ))}
      {diff.examplesChanged ? (
        <p>
          Examples changed ({diff.examplesBefore} → {diff.examplesAfter}).
        </p>
      ) : null}
    </div>
  );
}

function TableChanges({ t }: { t: TableDiff }) {
  const columns = [...new Set(t.rows.flatMap((r) => r.cells.map((c) => c.column)))];
  return (
    <section class="diff-table" data-diff-table={t.table}>
      <h3>
        {t.table} {t.change !== DiffChange.CHANGED ? <span class={`tag ${t.change.toLowerCase()}`}>{t.change.toLowerCase()}</span> : null}
      </h3>
      {t.hitPolicyChanged ? (
        <p>
          Hit policy: <del>{t.hitPolicyBefore ?? '–'}</del> → <ins>{t.hitPolicyAfter ?? '–'}</ins>
        </p>
      ) : null}
      {t.unmappedInputChanged ? <p>The input reported when unmapped changed.</p> : null}
      {t.inputs.length ? (
        <ul class="input-changes">
          {t.inputs.map((i) => (
            <li key={i.name} data-diff-input={i.name}>
              <span class={`tag ${i.change.toLowerCase()}`}>{i.change.toLowerCase()}</span> input <code>{i.name}</code>
              {i.typeBefore !== i.typeAfter && i.change === DiffChange.CHANGED ? (
                <>
                  {' '}
                  type <del>{i.typeBefore}</del> → <ins>{i.typeAfter}</ins>
                </>
              ) : null}
              {i.allowedAdded.length ? <> allowed values added: {i.allowedAdded.map((v) => <ins key={v}>{show(v)}</ins>)}</> : null}
              {i.allowedRemoved.length ? <> removed: {i.allowedRemoved.map((v) => <del key={v}>{show(v)}</del>)}</> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {t.rows.length ? (
        <div class="scroll">
          <table class="decision-table diff-rows">
            <caption class="sr-only">Rows of {t.table} that changed</caption>
            <thead>
              <tr>
                <th scope="col">change</th>
                <th scope="col">id</th>
                <th scope="col">row</th>
                {columns.map((c) => (
                  <th scope="col" key={c}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {t.rows.map((r) => (
                <tr key={r.id} class={`diff-${r.change.toLowerCase()}`} data-diff-row={r.id}>
                  <td>
                    <span class={`tag ${r.change.toLowerCase()}`}>{r.change.toLowerCase()}</span>
                  </td>
                  <th scope="row">
                    <code>{r.id}</code>
                  </th>
                  <td>
                    {r.beforeIndex !== null && r.beforeIndex !== undefined ? r.beforeIndex + 1 : '–'} → {r.afterIndex !== null && r.afterIndex !== undefined ? r.afterIndex + 1 : '–'}
                  </td>
                  {columns.map((col) => {
                    const c = r.cells.find((x) => x.column === col);
                    if (!c) return <td key={col} />;
                    return (
                      <td key={col} class="changed-cell" data-diff-cell={`${r.id}.${col}`}>
                        {r.change === DiffChange.CHANGED ? (
                          <>
                            <del>{show(c.before)}</del> → <ins>{show(c.after)}</ins>
                          </>
                        ) : (
                          show(r.change === DiffChange.REMOVED ? c.before : c.after)
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

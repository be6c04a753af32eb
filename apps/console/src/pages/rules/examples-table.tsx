import { parse, stringify } from 'yaml';
import type { RuleProblem } from '../../api/generated/graphql';
import type { ProblemIndex } from '../../rules/problem-places';
import type { MappingExampleDoc, ResolutionExampleDoc, RuleSetDoc } from '../../rules/rule-set-document';
import { CellProblems } from './decision-table';

const flow = (v: unknown): string => stringify(v ?? {}, { collectionStyle: 'flow', lineWidth: 0 }).trim();
function readFlow(text: string): Record<string, never> | unknown {
  try {
    return parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The actual result of a failing example, from the validation's message ("… but maps to X by r"). */
function actual(problems: RuleProblem[]): { status: string; rule: string } | null {
  for (const p of problems) {
    const m = / but (?:maps|resolves) to (\S+) by (\S+)$/.exec(p.message);
    if (m) return { status: m[1], rule: m[2] };
  }
  return null;
}

/**
 * The rule set's examples (its tests) as two tables, each example with pass or fail from the last
 * validation and, when it fails, what it actually gives beside what it expects. Editable in place.
 */
export function ExamplesTable({ doc, problems, validated, onChange, readOnly }: { doc: RuleSetDoc; problems: ProblemIndex; validated: boolean; onChange: (doc: RuleSetDoc) => void; readOnly: boolean }) {
  const mappings = doc.examples?.mappings ?? [];
  const resolution = doc.examples?.resolution ?? [];
  const setList = (list: 'mappings' | 'resolution', items: Array<MappingExampleDoc | ResolutionExampleDoc>) => onChange({ ...doc, examples: { ...doc.examples, [list]: items } });
  const set = <T extends MappingExampleDoc | ResolutionExampleDoc>(list: 'mappings' | 'resolution', items: T[], i: number, value: T) => {
    const next = items.slice();
    next[i] = value;
    setList(list, next);
  };
  const systems = Object.keys(doc.mappings ?? {});
  const verdict = (list: string, i: number) => {
    const ps = problems.at(`example:${list}:${i}`);
    const failed = ps.some((p) => p.severity === 'ERROR');
    return { ps, failed, got: actual(ps) };
  };
  const passCell = (failed: boolean) => <td class={failed ? 'fail' : validated ? 'pass' : 'muted'}>{failed ? 'fail' : validated ? 'pass' : '…'}</td>;

  return (
    <div class="examples">
      <h2>Mapping examples</h2>
      <div class="scroll">
        <table class="decision-table examples-table" data-examples="mappings">
          <caption class="sr-only">Mapping examples: a system's raw fields and the status and rule they should map to</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">result</th>
              <th scope="col">system</th>
              <th scope="col">raw fields</th>
              <th scope="col">expected status</th>
              <th scope="col">expected rule</th>
              <th scope="col">actual</th>
              {!readOnly ? <th scope="col"><span class="sr-only">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {mappings.map((ex, i) => {
              const { ps, failed, got } = verdict('mappings', i);
              return (
                <tr key={i} class={failed ? 'row-error' : ''} data-example={`examples.mappings[${i}]`}>
                  <th scope="row">{i + 1}</th>
                  {passCell(failed)}
                  <td>
                    <select aria-label={`example ${i + 1} system`} value={ex.system} disabled={readOnly} onChange={(e) => set('mappings', mappings, i, { ...ex, system: e.currentTarget.value })}>
                      {systems.map((s) => (
                        <option key={s}>{s}</option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input class="wide" aria-label={`example ${i + 1} raw fields`} value={flow(ex.raw)} readOnly={readOnly} onChange={(e) => set('mappings', mappings, i, { ...ex, raw: readFlow(e.currentTarget.value) as Record<string, unknown> })} />
                  </td>
                  <td>
                    <input aria-label={`example ${i + 1} expected status`} list="statuses" value={ex.expect?.status ?? ''} readOnly={readOnly} onInput={(e) => set('mappings', mappings, i, { ...ex, expect: { ...ex.expect, status: e.currentTarget.value } })} />
                  </td>
                  <td>
                    <input aria-label={`example ${i + 1} expected rule`} value={ex.expect?.rule ?? ''} readOnly={readOnly} onInput={(e) => set('mappings', mappings, i, { ...ex, expect: { ...ex.expect, rule: e.currentTarget.value || undefined } })} />
                  </td>
                  <td>
                    {got ? (
                      <span>
                        {got.status} by <code>{got.rule}</code>
                      </span>
                    ) : failed ? null : validated ? (
                      <span class="muted">as expected</span>
                    ) : null}
                    {ps.length && !got ? <CellProblems problems={ps} /> : null}
                  </td>
                  {!readOnly ? (
                    <td>
                      <button type="button" aria-label={`remove example ${i + 1}`} onClick={() => setList('mappings', mappings.filter((_, j) => j !== i))}>
                        ✕
                      </button>
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!readOnly ? (
        <button type="button" onClick={() => setList('mappings', [...mappings, { system: systems[0] ?? '', raw: {}, expect: { status: '' } }])}>
          Add mapping example
        </button>
      ) : null}

      <h2>Resolution examples</h2>
      <div class="scroll">
        <table class="decision-table examples-table" data-examples="resolution">
          <caption class="sr-only">Resolution examples: the statuses of each system and the status and reason they should resolve to</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">result</th>
              <th scope="col">systems' statuses</th>
              <th scope="col">expected status</th>
              <th scope="col">expected reason</th>
              <th scope="col">actual</th>
              {!readOnly ? <th scope="col"><span class="sr-only">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {resolution.map((ex, i) => {
              const { ps, failed, got } = verdict('resolution', i);
              return (
                <tr key={i} class={failed ? 'row-error' : ''} data-example={`examples.resolution[${i}]`}>
                  <th scope="row">{i + 1}</th>
                  {passCell(failed)}
                  <td>
                    <input class="wide" aria-label={`resolution example ${i + 1} systems`} value={flow(ex.systems)} readOnly={readOnly} onChange={(e) => set('resolution', resolution, i, { ...ex, systems: readFlow(e.currentTarget.value) as Record<string, string[]> })} />
                  </td>
                  <td>
                    <input aria-label={`resolution example ${i + 1} expected status`} list="statuses" value={ex.expect?.status ?? ''} readOnly={readOnly} onInput={(e) => set('resolution', resolution, i, { ...ex, expect: { ...ex.expect, status: e.currentTarget.value } })} />
                  </td>
                  <td>
                    <input aria-label={`resolution example ${i + 1} expected reason`} value={ex.expect?.reason ?? ''} readOnly={readOnly} onInput={(e) => set('resolution', resolution, i, { ...ex, expect: { ...ex.expect, reason: e.currentTarget.value || undefined } })} />
                  </td>
                  <td>
                    {got ? (
                      <span>
                        {got.status} by <code>{got.rule}</code>
                      </span>
                    ) : failed ? null : validated ? (
                      <span class="muted">as expected</span>
                    ) : null}
                    {ps.length && !got ? <CellProblems problems={ps} /> : null}
                  </td>
                  {!readOnly ? (
                    <td>
                      <button type="button" aria-label={`remove resolution example ${i + 1}`} onClick={() => setList('resolution', resolution.filter((_, j) => j !== i))}>
                        ✕
                      </button>
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!readOnly ? (
        <button type="button" onClick={() => setList('resolution', [...resolution, { systems: {}, expect: { status: '' } }])}>
          Add resolution example
        </button>
      ) : null}
    </div>
  );
}

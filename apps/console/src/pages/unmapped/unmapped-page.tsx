import type { Me, UnmappedValue } from '../../api/generated/graphql';
import { UNMAPPED, UNMAPPED_SHOWN } from '../../api/queries';
import { canEditRules } from '../../app';
import { ErrorNote, Loading, Section, when } from '../../ui/common';
import { go } from '../../ui/route';
import { useQuery } from '../../ui/use-query';

/** Raw values that no rule maps (a fallback decided), per system and field; "add a rule" opens a draft with a row for one. */
export function UnmappedPage({ me }: { me: Me }) {
  const q = useQuery<{ unmappedValues: UnmappedValue[] }>(UNMAPPED);
  if (q.error) return <ErrorNote error={q.error} />;
  if (!q.data) return <Loading what="the unmapped values" />;
  const values = q.data.unmappedValues;
  const groups = [...new Set(values.map((v) => `${v.system}.${v.field}`))];
  return (
    <div class="page">
      <h1>Unmapped values</h1>
      {values.length === 0 ? <p class="muted">Every stored raw value is mapped by a rule.</p> : null}
      {values.length >= UNMAPPED_SHOWN ? <p class="muted">The {UNMAPPED_SHOWN} values held by the most records are listed; map them and the next ones appear.</p> : null}
      {groups.map((g) => {
        const [system, field] = g.split('.');
        const rows = values.filter((v) => v.system === system && v.field === field);
        return (
          <Section key={g} title={`${system} · ${field}`}>
            <table class="plain">
              <caption class="sr-only">
                Raw values of {system} {field} that no rule maps
              </caption>
              <thead>
                <tr>
                  <th scope="col">Raw value</th>
                  <th scope="col" class="num">
                    Records
                  </th>
                  <th scope="col">Last seen</th>
                  {canEditRules(me) ? (
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {rows.map((v) => (
                  <tr key={v.value} data-unmapped={`${v.system}.${v.field}=${v.value}`}>
                    <td>
                      <code>{v.value}</code>
                    </td>
                    <td class="num">{v.count}</td>
                    <td>{when(v.lastSeen)}</td>
                    {canEditRules(me) ? (
                      <td>
                        <button type="button" onClick={() => go(`rules?add=${encodeURIComponent(v.system)}&field=${encodeURIComponent(v.field)}&value=${encodeURIComponent(v.value)}`)}>
                          Add a rule
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        );
      })}
    </div>
  );
}

import type { Customer, Explanation } from '../../api/generated/graphql';
import { CUSTOMER_UNDER } from '../../api/queries';
import { ErrorNote, Loading, StatusBadge } from '../../ui/common';
import { useQuery } from '../../ui/use-query';

/** Why a customer has its status: per system the mapping rule that fired on which raw values, then the resolution rule. */
export function ExplanationView({ explanation: e }: { explanation: Explanation }) {
  return (
    <div class="explanation" data-testid="explanation">
      <p>
        <StatusBadge status={e.resolution.status} /> decided by resolution rule <code data-testid="resolution-rule">{e.resolution.rule}</code> — {e.resolution.description} (rule set version{' '}
        <span data-testid="explanation-version">{e.ruleSetVersion}</span>)
      </p>
      <table class="plain">
        <caption class="sr-only">The mapping rule that fired in each system</caption>
        <thead>
          <tr>
            <th scope="col">System</th>
            <th scope="col">Record</th>
            <th scope="col">Raw inputs</th>
            <th scope="col">Mapping rule</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {e.sources.map((s) => (
            <tr key={`${s.system}/${s.recordKey}`} data-source={s.system}>
              <td>{s.system}</td>
              <td>
                <code>{s.recordKey}</code>
              </td>
              <td>
                {s.inputs.map((i) => (
                  <span key={i.field} class="kv">
                    {i.field} = <code>{i.value}</code>
                  </span>
                ))}
              </td>
              <td>
                <code data-testid="mapping-rule">{s.rule}</code> <span class="muted">{s.description}</span>
              </td>
              <td>
                <StatusBadge status={s.status} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Compared = Pick<Customer, 'id' | 'status'> & { today: Explanation; draft: Explanation };

/** A sample customer of the impact preview: why it has its status today, and why it would have another under the draft. */
export function CustomerExplanation({ id, version }: { id: string; version: number }) {
  const q = useQuery<{ customer: Compared | null }>(CUSTOMER_UNDER, { id, v: version });
  if (q.error) return <ErrorNote error={q.error} />;
  if (!q.data) return <Loading what={`customer ${id}`} />;
  const c = q.data.customer;
  if (!c) return <p class="muted">No system knows customer {id}.</p>;
  return (
    <div class="compare">
      <div class="card inset" data-testid="explanation-today">
        <h3>
          <a href={`#/customer/${encodeURIComponent(id)}`}>{id}</a> today
        </h3>
        <ExplanationView explanation={c.today} />
      </div>
      <div class="card inset" data-testid="explanation-draft">
        <h3>
          {id} under draft version {version}
        </h3>
        <ExplanationView explanation={c.draft} />
      </div>
    </div>
  );
}

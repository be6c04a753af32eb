import type { Customer } from '../../api/generated/graphql';
import { CUSTOMER } from '../../api/queries';
import { ErrorNote, Loading, StatusBadge } from '../../ui/common';
import { useQuery } from '../../ui/use-query';

/** Why a customer has its status: per system the mapping rule that fired on which raw values, then the resolution rule. */
export function ExplanationView({ customer }: { customer: Customer }) {
  const e = customer.explanation;
  return (
    <div class="explanation" data-testid="explanation">
      <p>
        <StatusBadge status={customer.status} /> decided by resolution rule <code data-testid="resolution-rule">{e.resolution.rule}</code> — {e.resolution.description} (rule set version{' '}
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

export function CustomerExplanation({ id, note }: { id: string; note?: string }) {
  const q = useQuery<{ customer: Customer | null }>(CUSTOMER, { id });
  if (q.error) return <ErrorNote error={q.error} />;
  if (!q.data) return <Loading what={`customer ${id}`} />;
  if (!q.data.customer) return <p class="muted">No system knows customer {id}.</p>;
  return (
    <div class="card inset">
      <h3>
        <a href={`#/customer/${encodeURIComponent(id)}`}>{id}</a> today
      </h3>
      {note ? <p class="muted">{note}</p> : null}
      <ExplanationView customer={q.data.customer} />
    </div>
  );
}

import { useState } from 'preact/hooks';
import type { ImpactPreview } from '../../api/generated/graphql';
import { CustomerExplanation } from '../customer/customer-explanation';

/**
 * The impact preview as a from→to matrix: rows are today's statuses, columns what the draft would
 * give, each cell the customers that would move. A cell opens its sample of customers, a
 * customer its explanation.
 */
export function ImpactMatrix({ preview, statuses }: { preview: ImpactPreview; statuses: string[] }) {
  const [open, setOpen] = useState<{ from: string; to: string } | null>(null);
  const [customer, setCustomer] = useState<string | null>(null);
  const order = (xs: string[]) => [...new Set(xs)].sort((a, b) => rank(a) - rank(b));
  const rank = (s: string) => (statuses.indexOf(s) < 0 ? statuses.length : statuses.indexOf(s));
  const froms = order(preview.cells.map((c) => c.from));
  const tos = order(preview.cells.map((c) => c.to));
  const cell = (from: string, to: string) => preview.cells.find((c) => c.from === from && c.to === to);
  const selected = open ? cell(open.from, open.to) : undefined;

  return (
    <div class="impact" data-testid="impact">
      <p>
        <strong data-testid="impact-moving">{preview.moving}</strong> of <span data-testid="impact-customers">{preview.customers}</span> customers would change status if version {preview.version} replaced version{' '}
        {preview.activeVersion}.
      </p>
      {preview.cells.length ? (
        <table class="matrix">
          <caption class="sr-only">Customers that would move, from their status today (rows) to their status under the draft (columns)</caption>
          <thead>
            <tr>
              <th scope="col">from ↓ / to →</th>
              {tos.map((t) => (
                <th scope="col" key={t}>
                  {t}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {froms.map((f) => (
              <tr key={f}>
                <th scope="row">{f}</th>
                {tos.map((t) => {
                  const c = cell(f, t);
                  return (
                    <td key={t} class={c ? 'moves' : ''}>
                      {c ? (
                        <button
                          type="button"
                          data-impact={`${f}->${t}`}
                          aria-pressed={open?.from === f && open.to === t}
                          aria-label={`${c.count} customers from ${f} to ${t}: show a sample`}
                          onClick={() => {
                            setOpen({ from: f, to: t });
                            setCustomer(null);
                          }}
                        >
                          {c.count}
                        </button>
                      ) : (
                        <span class="muted" aria-hidden="true">
                          ·
                        </span>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No customer would change status.</p>
      )}
      {selected ? (
        <div class="sample">
          <h3>
            {selected.from} → {selected.to}: a sample of {selected.sample.length} of {selected.count}
          </h3>
          <ul class="chips">
            {selected.sample.map((id) => (
              <li key={id}>
                <button type="button" aria-pressed={customer === id} onClick={() => setCustomer(id)}>
                  {id}
                </button>
              </li>
            ))}
          </ul>
          {customer ? <CustomerExplanation id={customer} version={preview.version} /> : null}
        </div>
      ) : null}
    </div>
  );
}

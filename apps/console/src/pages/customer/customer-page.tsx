import { useEffect, useState } from 'preact/hooks';
import { subscribe } from '../../api/client';
import type { Customer, StatusChange } from '../../api/generated/graphql';
import { CUSTOMER, CUSTOMER_CHANGED } from '../../api/queries';
import { ErrorNote, Loading, Section, StatusBadge, when } from '../../ui/common';
import { go } from '../../ui/route';
import { useQuery } from '../../ui/use-query';
import { ExplanationView } from './customer-explanation';

/** One customer: status, reason, sources with raw values, the explanation, the history as a timeline; live. */
export function CustomerPage({ id }: { id: string }) {
  const [text, setText] = useState(id);
  useEffect(() => setText(id), [id]);
  return (
    <div class="page">
      <h1>Customer</h1>
      <form
        class="lookup"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) go(`customer/${encodeURIComponent(text.trim())}`);
        }}
      >
        <label for="customer-id">Customer id</label>
        <input id="customer-id" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="e.g. C-000123" />
        <button type="submit" class="primary">
          Look up
        </button>
      </form>
      {id ? <CustomerView id={id} /> : null}
    </div>
  );
}

function CustomerView({ id }: { id: string }) {
  const q = useQuery<{ customer: Customer | null }>(CUSTOMER, { id });
  const [live, setLive] = useState<'connecting' | 'live' | string>('connecting');
  const [last, setLast] = useState<StatusChange | null>(null);
  // On the id asked for (the server normalizes it), not the customer's: a customer removed, or not there yet, stays watched.
  useEffect(() => {
    setLive('connecting');
    return subscribe<{ customerStatusChanged: StatusChange | null }>(
      CUSTOMER_CHANGED,
      { ids: [id] },
      (d) => {
        if (d.customerStatusChanged) {
          setLast(d.customerStatusChanged);
          q.reload();
        }
      },
      (e) => setLive(`not live: ${e.message}`),
      () => setLive('live'),
    );
  }, [id]);

  if (q.error) return <ErrorNote error={q.error} />;
  if (!q.data) return <Loading what={`customer ${id}`} />;
  const c = q.data.customer;
  if (!c)
    return (
      <p class="note" role="status" data-testid="customer-absent">
        No system knows customer {id}.{last?.removed ? ` It was removed just now: its last record went (its status was ${last.to}).` : ''}
      </p>
    );
  return (
    <>
      <Section title={c.id} actions={<span class={`live ${live === 'live' ? 'on' : ''}`} aria-live="polite">{live === 'live' ? '● live' : live === 'connecting' ? 'connecting…' : live}</span>}>
        <dl class="facts">
          <dt>Status</dt>
          <dd data-testid="customer-status">
            <StatusBadge status={c.status} />
          </dd>
          <dt>Reason</dt>
          <dd>
            <code>{c.reason}</code>
          </dd>
          <dt>Since</dt>
          <dd>{when(c.statusSince)}</dd>
          <dt>Updated</dt>
          <dd>{when(c.updatedAt)}</dd>
        </dl>
        {last ? (
          <p class="note info" role="status">
            Changed just now: {last.from ?? '–'} → {last.to} ({last.reason})
          </p>
        ) : null}
      </Section>
      <Section title="Explanation">
        {c.explanation ? <ExplanationView explanation={c.explanation} /> : null}
      </Section>
      <Section title="Sources">
        <table class="plain">
          <caption class="sr-only">The live record of each legacy system with its raw fields</caption>
          <thead>
            <tr>
              <th scope="col">System</th>
              <th scope="col">Record</th>
              <th scope="col">Status</th>
              <th scope="col">Rule</th>
              <th scope="col">Raw fields</th>
              <th scope="col">Source time</th>
            </tr>
          </thead>
          <tbody>
            {c.sources.map((s) => (
              <tr key={`${s.system}/${s.recordKey}`}>
                <td>{s.system}</td>
                <td>
                  <code>{s.recordKey}</code>
                </td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td>
                  <code>{s.rule}</code>
                </td>
                <td>
                  <code class="raw">{s.raw}</code>
                </td>
                <td>{when(s.sourceTimestamp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="History">
        <ol class="timeline" data-testid="timeline">
          {(c.history ?? []).map((h, i) => (
            <li key={i}>
              <time dateTime={h.at}>{when(h.at)}</time>
              <span>
                {h.from ? <StatusBadge status={h.from} /> : <span class="muted">new</span>} → <StatusBadge status={h.to} />
              </span>
              <span class="muted">
                by <code>{h.reason}</code>
                {h.ruleSetVersion ? ` · version ${h.ruleSetVersion}` : ''}
              </span>
            </li>
          ))}
        </ol>
      </Section>
    </>
  );
}

import { useEffect, useMemo, useState } from 'preact/hooks';
import { parse } from 'yaml';
import { gql } from '../../api/client';
import type { Instance, ReconcileReport, RuleSetVersion, StatusCount, UnmappedTotals } from '../../api/generated/graphql';
import { OVERVIEW, RECONCILE } from '../../api/queries';
import { ErrorNote, Loading, Section, short, StatusBadge, when } from '../../ui/common';
import { useQuery } from '../../ui/use-query';

type Overview = { activeRuleSet: RuleSetVersion; instances: Instance[]; statusCounts: StatusCount[]; unmappedTotals: UnmappedTotals };
type Drift = Pick<ReconcileReport, 'system' | 'finishedAt' | 'agreed' | 'legacyRows' | 'viewRecords' | 'missing' | 'gone' | 'differs' | 'unmappable'>;

export function OverviewPage() {
  const q = useQuery<Overview>(OVERVIEW);
  const systems = useMemo(() => (q.data ? Object.keys((parse(q.data.activeRuleSet.document) as { mappings?: object }).mappings ?? {}) : []), [q.data]);
  const [drift, setDrift] = useState<Record<string, Drift | null>>({});
  useEffect(() => {
    if (systems.length === 0) return;
    void Promise.all(systems.map((system) => gql<{ lastReconcileReport: Drift | null }>(RECONCILE, { system }).then((r) => [system, r.lastReconcileReport] as const))).then(
      (pairs) => setDrift(Object.fromEntries(pairs)),
      () => setDrift({}),
    );
  }, [systems]);

  if (q.error) return <ErrorNote error={q.error} />;
  if (!q.data) return <Loading what="the overview" />;
  const { activeRuleSet: active, instances, statusCounts, unmappedTotals } = q.data;
  const total = statusCounts.reduce((n, c) => n + c.count, 0);
  return (
    <div class="page">
      <h1>Overview</h1>
      <div class="grid">
        <Section title="Active rule set">
          <dl class="facts">
            <dt>Version</dt>
            <dd data-testid="active-version">{active.version}</dd>
            <dt>Checksum</dt>
            <dd>
              <code title={active.checksum}>{short(active.checksum)}</code>
            </dd>
            <dt>Published by</dt>
            <dd>{active.publishedBy ?? '–'}</dd>
            <dt>Published</dt>
            <dd>{when(active.publishedAt)}</dd>
            <dt>Comment</dt>
            <dd>{active.comment || '–'}</dd>
          </dl>
        </Section>
        <Section title="Customers by status">
          <table class="plain">
            <caption class="sr-only">Customers by canonical status</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Customers
                </th>
              </tr>
            </thead>
            <tbody>
              {statusCounts.map((c) => (
                <tr key={c.status}>
                  <td>
                    <StatusBadge status={c.status} />
                  </td>
                  <td class="num">{c.count}</td>
                </tr>
              ))}
              <tr class="total">
                <td>All</td>
                <td class="num">{total}</td>
              </tr>
            </tbody>
          </table>
        </Section>
        <Section title="Unmapped values waiting">
          <p class="big">{unmappedTotals.values}</p>
          <p class="muted">
            distinct raw values, on {unmappedTotals.records} records, that only a fallback maps. <a href="#/unmapped">See them</a>
          </p>
        </Section>
      </div>
      <Section title="Instances">
        <table class="plain">
          <caption class="sr-only">Serving instances and the rule set version each evaluates with</caption>
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Runs</th>
              <th scope="col">Rule set version</th>
              <th scope="col">Checksum</th>
              <th scope="col">Last heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => (
              <tr key={i.id} class={i.ruleSetVersion !== active.version ? 'drifted' : ''}>
                <td>
                  <code>{i.id}</code>
                </td>
                <td>{i.parts.join(' + ')}</td>
                <td>
                  {i.ruleSetVersion}
                  {i.ruleSetVersion !== active.version ? <strong> (not the active version)</strong> : null}
                </td>
                <td>
                  <code>{short(i.checksum)}</code>
                </td>
                <td>{when(i.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {instances.length === 0 ? <p class="muted">No instance announced itself in the last 15 seconds.</p> : null}
      </Section>
      <Section title="Drift from the last reconcile">
        <table class="plain">
          <caption class="sr-only">The last reconcile report of each legacy system</caption>
          <thead>
            <tr>
              <th scope="col">System</th>
              <th scope="col">Last run</th>
              <th scope="col">Agreed</th>
              <th scope="col" class="num">
                Missing
              </th>
              <th scope="col" class="num">
                Gone
              </th>
              <th scope="col" class="num">
                Differs
              </th>
              <th scope="col" class="num">
                Unmappable
              </th>
            </tr>
          </thead>
          <tbody>
            {systems.map((s) => {
              const r = drift[s];
              return (
                <tr key={s}>
                  <td>{s}</td>
                  {r ? (
                    <>
                      <td>{when(r.finishedAt)}</td>
                      <td>{r.agreed ? 'yes' : <strong>no</strong>}</td>
                      <td class="num">{r.missing}</td>
                      <td class="num">{r.gone}</td>
                      <td class="num">{r.differs}</td>
                      <td class="num">{r.unmappable}</td>
                    </>
                  ) : (
                    <td colSpan={6} class="muted">
                      never reconciled (<code>npm run cli -- reconcile --system {s}</code>)
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
    </div>
  );
}

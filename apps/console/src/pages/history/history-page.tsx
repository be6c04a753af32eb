import { useEffect, useState } from 'preact/hooks';
import { gql } from '../../api/client';
import { RuleSetState, type ImpactPreview, type PublishResult, type RuleSetAuditEntry, type RuleSetDiff, type RuleSetVersion } from '../../api/generated/graphql';
import { DIFF, PREVIEW_VERSION, ROLLBACK, VERSIONS } from '../../api/queries';
import { ErrorNote, Loading, Section, short, when } from '../../ui/common';
import { useRoute } from '../../ui/route';
import { useQuery } from '../../ui/use-query';
import { PublishDialog } from '../rules/publish-dialog';
import { ReprojectionBar } from '../rules/reprojection-bar';
import { VersionDiff } from './version-diff';

type Versions = { ruleSetVersions: RuleSetVersion[]; ruleSetAudit: RuleSetAuditEntry[] };

/** Every version with who, when and why; a diff of any two; rollback to any published one; the audit log. */
export function HistoryPage() {
  const route = useRoute();
  const q = useQuery<Versions>(VERSIONS);
  const versions = q.data?.ruleSetVersions ?? [];
  const active = versions.find((v) => v.state === RuleSetState.ACTIVE);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const [diff, setDiff] = useState<RuleSetDiff | null>(null);
  const [diffError, setDiffError] = useState<Error | null>(null);
  const [rollbackTo, setRollbackTo] = useState<number | null>(null);
  const [rolledBack, setRolledBack] = useState<PublishResult | null>(null);
  const [rollbackPreview, setRollbackPreview] = useState<ImpactPreview | null>(null);

  // The confirmation of a rollback shows what it would change, like a publish's.
  useEffect(() => {
    setRollbackPreview(null);
    if (rollbackTo === null) return;
    gql<{ ruleSetPreview: ImpactPreview }>(PREVIEW_VERSION, { v: rollbackTo }).then(
      (r) => setRollbackPreview(r.ruleSetPreview),
      () => setRollbackPreview(null),
    );
  }, [rollbackTo]);

  useEffect(() => {
    if (!q.data) return;
    const pf = Number(route.params.get('from'));
    const pt = Number(route.params.get('to'));
    const published = versions.filter((v) => v.state !== RuleSetState.DRAFT);
    setFrom(pf || (published[1]?.version ?? versions[versions.length - 1]?.version ?? null));
    setTo(pt || (active?.version ?? null));
  }, [q.data, route.params.get('from'), route.params.get('to')]);

  useEffect(() => {
    if (from === null || to === null) return;
    setDiffError(null);
    gql<{ ruleSetDiff: RuleSetDiff }>(DIFF, { from, to }).then(
      (r) => setDiff(r.ruleSetDiff),
      (e: Error) => setDiffError(e),
    );
  }, [from, to]);

  if (q.error) return <ErrorNote error={q.error} />;
  if (!q.data) return <Loading what="the history" />;

  return (
    <div class="page">
      <h1>History</h1>
      {rolledBack ? (
        <div class="card">
          <p>
            Rolled back: version {rolledBack.toVersion} is active again (was {rolledBack.fromVersion}).
          </p>
          <ReprojectionBar id={rolledBack.reprojection.id} onDone={() => q.reload()} />
        </div>
      ) : null}
      <Section title="Versions">
        <div class="scroll">
          <table class="plain versions">
            <caption class="sr-only">Every rule set version, newest first; choose two to compare</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">State</th>
                <th scope="col">Checksum</th>
                <th scope="col">Created</th>
                <th scope="col">Published</th>
                <th scope="col">Comment</th>
                <th scope="col">Compare from</th>
                <th scope="col">to</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.version} data-version={v.version} class={v.state === RuleSetState.ACTIVE ? 'active' : ''}>
                  <th scope="row">{v.version}</th>
                  <td>
                    <span class={`tag ${v.state.toLowerCase()}`}>{v.state.toLowerCase()}</span>
                  </td>
                  <td>
                    <code>{short(v.checksum)}</code>
                  </td>
                  <td>
                    {v.createdBy}
                    <br />
                    <small>{when(v.createdAt)}</small>
                  </td>
                  <td>
                    {v.publishedBy ?? '–'}
                    <br />
                    <small>{when(v.publishedAt)}</small>
                  </td>
                  <td>{v.comment}</td>
                  <td>
                    <input type="radio" name="from" aria-label={`compare from version ${v.version}`} checked={from === v.version} onChange={() => setFrom(v.version)} />
                  </td>
                  <td>
                    <input type="radio" name="to" aria-label={`compare to version ${v.version}`} checked={to === v.version} onChange={() => setTo(v.version)} />
                  </td>
                  <td class="row-actions">
                    {v.state === RuleSetState.RETIRED ? (
                      <button type="button" onClick={() => setRollbackTo(v.version)} data-rollback={v.version}>
                        Roll back to {v.version}
                      </button>
                    ) : null}
                    {v.state === RuleSetState.DRAFT ? <a href={`#/rules?draft=${v.version}`}>Edit draft</a> : <a href={`#/rules?draft=${v.version}`}>Start a draft from it</a>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title={from !== null && to !== null ? `Diff of version ${from} → ${to}` : 'Diff'}>
        <ErrorNote error={diffError} />
        {diff ? <VersionDiff diff={diff} /> : <Loading what="the diff" />}
      </Section>
      <Section title="Audit log">
        <table class="plain">
          <caption class="sr-only">Every publish and rollback, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Versions</th>
              <th scope="col">Who</th>
              <th scope="col">Comment</th>
            </tr>
          </thead>
          <tbody>
            {q.data.ruleSetAudit.map((a, i) => (
              <tr key={i} data-audit={a.action}>
                <td>{when(a.at)}</td>
                <td>{a.action}</td>
                <td>
                  {a.fromVersion ?? '–'} → {a.toVersion}
                </td>
                <td>{a.actor}</td>
                <td>{a.comment}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {q.data.ruleSetAudit.length === 0 ? <p class="muted">Nothing was published since the rule set was seeded.</p> : null}
      </Section>
      {rollbackTo !== null ? (
        <PublishDialog
          title={`Roll back to version ${rollbackTo}`}
          action="Roll back"
          preview={rollbackPreview}
          onCancel={() => setRollbackTo(null)}
          onConfirm={async (comment) => {
            const r = (await gql<{ rollbackRuleSet: PublishResult }>(ROLLBACK, { v: rollbackTo, c: comment })).rollbackRuleSet;
            setRollbackTo(null);
            setRolledBack(r);
            q.reload();
          }}
        />
      ) : null}
    </div>
  );
}

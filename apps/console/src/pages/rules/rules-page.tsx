import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { parse } from 'yaml';
import { ApiError, gql } from '../../api/client';
import type { ImpactPreview, PublishResult, RuleProblem, RuleSetVersion } from '../../api/generated/graphql';
import { ACTIVE_RULE_SET, CREATE_DRAFT, PREVIEW, PUBLISH, UPDATE_DRAFT, VALIDATE, VERSION } from '../../api/queries';
import { ProblemIndex } from '../../rules/problem-places';
import { readableOrder, withRuleForValue, type RuleSetDoc, type TableRef } from '../../rules/rule-set-document';
import { ErrorNote, Loading } from '../../ui/common';
import type { Route } from '../../ui/route';
import { DecisionTable, ProblemList } from './decision-table';
import { ExamplesTable } from './examples-table';
import { ImpactMatrix } from './impact-matrix';
import { PublishDialog } from './publish-dialog';
import { ReprojectionBar } from './reprojection-bar';
import { YamlView } from './yaml-view';

const VALIDATE_AFTER_MS = 400;

interface Draft {
  doc: RuleSetDoc;
  /** The version the draft started from (the active one). */
  base: number;
  /** The stored draft version, once saved. */
  version: number | null;
  /** The stored draft's checksum as loaded or last saved here: a save is refused if someone else saved since. */
  checksum: string | null;
  /** Changed since it was last saved. */
  dirty: boolean;
}

/** A stored version as the draft to edit: itself while it is a draft, else a new draft from it (published meanwhile, or opened as one). */
async function storedDraft(version: number, base: number): Promise<Draft> {
  const { ruleSetVersion: v } = await gql<{ ruleSetVersion: RuleSetVersion | null }>(VERSION, { v: version });
  if (!v) throw new ApiError(`version ${version} does not exist`, 'NOT_FOUND');
  const isDraft = v.state === 'DRAFT';
  return { doc: readableOrder(parse(v.document) as RuleSetDoc), base, version: isDraft ? v.version : null, checksum: isDraft ? v.checksum : null, dirty: !isDraft };
}

/**
 * The rule tables of a draft: each system's mapping table and the resolution table as decision
 * tables, the examples, the same draft as YAML; validation as you edit; impact preview; publish.
 */
export function RulesPage({ route }: { route: Route }) {
  const [draft, setDraft] = useState<Draft | null>(null);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [tab, setTab] = useState<string>(route.params.get('table') ?? '');
  const [problems, setProblems] = useState<RuleProblem[]>([]);
  const [validated, setValidated] = useState(false);
  const [validating, setValidating] = useState(false);
  const [validateError, setValidateError] = useState<Error | null>(null);
  const [preview, setPreview] = useState<ImpactPreview | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [publishing, setPublishing] = useState(false);
  const [published, setPublished] = useState<PublishResult | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // The stored draft's version as soon as it is known (state updates land after the next render).
  const savedVersion = useRef<number | null>(null);
  // Its checksum as saved or loaded here: the publish goes through only for that document.
  const savedChecksum = useRef<string | null>(null);

  const add = route.params.get('add');
  const field = route.params.get('field');
  const value = route.params.get('value');
  const draftParam = route.params.get('draft');
  const tableParam = route.params.get('table');

  // Load: a stored draft (#/rules?draft=5), or the active version, with a row prefilled for an unmapped value.
  useEffect(() => {
    let live = true;
    setDraft(null);
    setPreview(null);
    setPublished(null);
    setNotice(null);
    setTab(tableParam ?? '');
    (async () => {
      if (draftParam) {
        const stored = await storedDraft(Number(draftParam), 0);
        const active = await gql<{ activeRuleSet: RuleSetVersion }>(ACTIVE_RULE_SET);
        return { ...stored, base: active.activeRuleSet.version };
      }
      const { activeRuleSet: v } = await gql<{ activeRuleSet: RuleSetVersion }>(ACTIVE_RULE_SET);
      let doc = readableOrder(parse(v.document) as RuleSetDoc);
      let dirty = false;
      if (add && field && value !== null) {
        doc = withRuleForValue(doc, add, field, value).doc;
        dirty = true;
      }
      return { doc, base: v.version, version: null, checksum: null, dirty };
    })().then(
      (d) => {
        if (!live) return;
        setDraft(d);
        if (add) {
          setTab(`mapping:${add}`);
          setNotice(`A row for ${field} = ${value} was added to the ${add} table, before its fallback: choose the status it maps to, then save the draft.`);
        }
      },
      (e: Error) => live && setLoadError(e),
    );
    return () => {
      live = false;
    };
  }, [add, field, value, draftParam, tableParam]);

  // Validation as you edit, debounced; an answer for an older document is dropped.
  const seq = useRef(0);
  useEffect(() => {
    if (!draft) return;
    const n = ++seq.current;
    setValidating(true);
    const timer = window.setTimeout(() => {
      gql<{ validateRuleSet: RuleProblem[] }>(VALIDATE, { d: JSON.stringify(draft.doc) }).then(
        (r) => {
          if (n !== seq.current) return;
          setProblems(r.validateRuleSet);
          setValidated(true);
          setValidating(false);
          setValidateError(null);
        },
        (e: Error) => {
          if (n !== seq.current) return;
          setValidating(false);
          setValidateError(e);
        },
      );
    }, VALIDATE_AFTER_MS);
    return () => window.clearTimeout(timer);
  }, [draft?.doc]);

  const index = useMemo(() => new ProblemIndex(problems), [problems]);
  const onChange = useCallback((doc: RuleSetDoc) => {
    setDraft((d) => (d ? { ...d, doc, dirty: true } : d));
    setPreview(null);
  }, []);

  if (loadError) return <ErrorNote error={loadError} />;
  if (!draft) return <Loading what="the rule set" />;

  const { doc } = draft;
  const tables: Array<{ key: string; label: string; ref: TableRef }> = [
    ...Object.keys(doc.mappings ?? {}).map((system) => ({ key: `mapping:${system}`, label: system, ref: { kind: 'mapping', system } as TableRef })),
    { key: 'resolution', label: 'resolution', ref: { kind: 'resolution' } },
  ];
  const current = tab || tables[0].key;
  const errors = index.errors;
  const failingExamples = errors.filter((p) => p.path.startsWith('examples.'));
  const blocked = validating ? 'validating…' : errors.length ? `${errors.length} error(s)${failingExamples.length ? `, ${failingExamples.length} failing example(s)` : ''}: fix them to publish` : null;
  const countIn = (key: string) => index.at(key).filter((p) => p.severity === 'ERROR').length;

  /**
   * Stores the draft (a new version the first time), so that it can be previewed and published;
   * over the stored draft whose checksum is `over` (the one loaded or last saved here, unless the
   * analyst chose to save over someone else's).
   */
  const save = async (over: string | null = draft.checksum): Promise<number> => {
    const d = JSON.stringify(draft.doc);
    if (draft.version !== null && !draft.dirty && over === draft.checksum) {
      savedChecksum.current = draft.checksum;
      return (savedVersion.current = draft.version);
    }
    const v =
      draft.version === null
        ? (await gql<{ createRuleSetDraft: RuleSetVersion }>(CREATE_DRAFT, { d, c: `draft from version ${draft.base}` })).createRuleSetDraft
        : (await gql<{ updateRuleSetDraft: RuleSetVersion }>(UPDATE_DRAFT, { v: draft.version, d, e: over })).updateRuleSetDraft;
    savedVersion.current = v.version;
    savedChecksum.current = v.checksum;
    setDraft((x) => (x && x.doc === draft.doc ? { ...x, version: v.version, checksum: v.checksum, dirty: false } : x && { ...x, version: v.version, checksum: v.checksum }));
    return v.version;
  };
  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    setActionError(null);
    try {
      await fn();
    } catch (e) {
      setActionError(e as Error);
    } finally {
      setBusy(null);
    }
  };
  const doPreview = async (): Promise<ImpactPreview> => {
    const version = await save();
    const p = (await gql<{ previewRuleSetDraft: ImpactPreview }>(PREVIEW, { v: version })).previewRuleSetDraft;
    setPreview(p);
    return p;
  };

  return (
    <div class="page rules-page">
      <div class="page-head">
        <h1>Rule tables</h1>
        <p class="muted" data-testid="draft-state">
          {draft.version === null ? `Draft from version ${draft.base}, not saved yet` : `Draft version ${draft.version}${draft.dirty ? ', unsaved changes' : ', saved'}`}
          {validating ? ' · validating…' : validated ? ` · ${errors.length} error(s), ${problems.length - errors.length} warning(s)` : ''}
        </p>
      </div>
      {notice ? (
        <p class="note info" role="status">
          {notice}
        </p>
      ) : null}
      <div class="toolbar">
        <button type="button" disabled={busy !== null || (!draft.dirty && draft.version !== null)} onClick={() => void run('save', async () => void (await save()))} data-testid="save-draft">
          {busy === 'save' ? 'Saving…' : 'Save draft'}
        </button>
        <button type="button" disabled={busy !== null || errors.length > 0} onClick={() => void run('preview', async () => void (await doPreview()))} data-testid="preview">
          {busy === 'preview' ? 'Previewing…' : 'Preview impact'}
        </button>
        <button
          type="button"
          class="primary"
          disabled={busy !== null || blocked !== null}
          aria-describedby="publish-blocked"
          onClick={() =>
            void run('publish', async () => {
              if (!preview || draft.dirty) await doPreview();
              setPublishing(true);
            })
          }
          data-testid="publish"
        >
          Publish…
        </button>
        <span id="publish-blocked" class={blocked ? 'blocked' : 'muted'} data-testid="publish-blocked">
          {blocked ?? 'ready to publish'}
        </span>
      </div>
      <ErrorNote error={actionError} />
      {actionError instanceof ApiError && actionError.code === 'DRAFT_CHANGED' && draft.version !== null ? (
        <div class="toolbar" data-testid="draft-conflict">
          <button
            type="button"
            disabled={busy !== null}
            onClick={() =>
              void run('reload', async () => {
                setDraft(await storedDraft(draft.version!, draft.base));
                setPreview(null);
              })
            }
          >
            Load the saved version (drop my changes)
          </button>
          <button
            type="button"
            disabled={busy !== null}
            onClick={() =>
              void run('overwrite', async () => {
                // Over the version just read: if it changes again meanwhile, this is refused again.
                await save((await storedDraft(draft.version!, draft.base)).checksum);
              })
            }
          >
            Save mine over it
          </button>
        </div>
      ) : null}
      <ErrorNote error={validateError} />
      {actionError instanceof ApiError && actionError.problems.length ? <ProblemList problems={actionError.problems} /> : null}
      {published ? (
        <div class="card">
          <p>
            Version {published.toVersion} is active (was {published.fromVersion}). <a href={`#/history?from=${published.fromVersion}&to=${published.toVersion}`}>See the diff</a>
          </p>
          <ReprojectionBar id={published.reprojection.id} />
        </div>
      ) : null}
      {preview ? (
        <section class="card" aria-label="Impact preview">
          <h2>Impact before publishing</h2>
          <ImpactMatrix preview={preview} statuses={doc.statuses ?? []} />
        </section>
      ) : null}

      <div class="tabs" role="tablist" aria-label="Tables">
        {[...tables.map((t) => ({ key: t.key, label: t.label, count: countIn(`table:${t.ref.kind === 'mapping' ? `mappings.${t.ref.system}` : 'resolution'}`) })), { key: 'examples', label: 'examples', count: failingExamples.length }, { key: 'yaml', label: 'YAML', count: 0 }].map((t) => (
          <button type="button" role="tab" key={t.key} aria-selected={current === t.key} onClick={() => setTab(t.key)} data-tab={t.key}>
            {t.label}
            {t.count ? <span class="count error" aria-label={`${t.count} errors`}>{t.count}</span> : null}
          </button>
        ))}
      </div>
      <div role="tabpanel" class="tabpanel">
        {tables
          .filter((t) => t.key === current)
          .map((t) => (
            <DecisionTable key={t.key} doc={doc} table={t.ref} problems={index} onChange={onChange} readOnly={false} />
          ))}
        {current === 'examples' ? <ExamplesTable doc={doc} problems={index} validated={validated && !validating} onChange={onChange} readOnly={false} /> : null}
        {current === 'yaml' ? <YamlView doc={doc} onChange={onChange} readOnly={false} /> : null}
        {index.at('').length ? <ProblemList problems={index.at('')} /> : null}
      </div>
      {publishing ? (
        <PublishDialog
          title={`Publish draft version ${savedVersion.current ?? ''}`}
          action="Publish"
          preview={preview}
          onCancel={() => setPublishing(false)}
          onConfirm={async (comment) => {
            let r: PublishResult;
            try {
              r = (await gql<{ publishRuleSet: PublishResult }>(PUBLISH, { v: savedVersion.current, c: comment, e: savedChecksum.current })).publishRuleSet;
            } catch (e) {
              if (!(e instanceof ApiError && e.code === 'DRAFT_CHANGED')) throw e;
              // Saved by someone else since the preview: the page's choices (load it, or save over it), not the dialog's error.
              setPublishing(false);
              setPreview(null);
              setActionError(e);
              return;
            }
            setPublishing(false);
            setPublished(r);
            setPreview(null);
            savedVersion.current = null;
            setDraft((d) => d && { ...d, base: r.toVersion, version: null, checksum: null, dirty: false });
          }}
        />
      ) : null}
    </div>
  );
}

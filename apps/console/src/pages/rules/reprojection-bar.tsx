import { useEffect, useState } from 'preact/hooks';
import { gql } from '../../api/client';
import { ReprojectionState, type Reprojection } from '../../api/generated/graphql';
import { REPROJECTION } from '../../api/queries';

/** A publish's or rollback's reprojection as a live bar (state, processed, total) until it ends. */
export function ReprojectionBar({ id, onDone }: { id: string; onDone?: (r: Reprojection) => void }) {
  const [r, setR] = useState<Reprojection | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const { reprojection } = await gql<{ reprojection: Reprojection | null }>(REPROJECTION, { id });
        if (!live || !reprojection) return;
        setR(reprojection);
        if (reprojection.state === ReprojectionState.RUNNING) timer = window.setTimeout(() => void poll(), 300);
        else onDone?.(reprojection);
      } catch (e) {
        if (live) setError((e as Error).message);
      }
    };
    void poll();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [id]);
  if (error) return <p class="note error">Cannot follow the reprojection: {error}</p>;
  if (!r) return <p class="muted">Starting the reprojection…</p>;
  const pct = r.total ? Math.round((100 * r.processed) / r.total) : r.state === ReprojectionState.RUNNING ? 0 : 100;
  return (
    <div class="reprojection" data-testid="reprojection" data-state={r.state}>
      <div class="bar-label">
        <span>
          Reprojection to version {r.version}: <strong data-testid="reprojection-state">{r.state.toLowerCase()}</strong>
        </span>
        <span>
          {r.processed} / {r.total} customers · {r.changed} changed
        </span>
      </div>
      <div class="bar" role="progressbar" aria-label="Reprojection progress" aria-valuemin={0} aria-valuemax={r.total} aria-valuenow={r.processed}>
        <div class={`fill ${r.state.toLowerCase()}`} style={{ width: `${pct}%` }} />
      </div>
      {r.error ? <p class="note error">{r.error}</p> : null}
    </div>
  );
}

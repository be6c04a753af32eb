import { useEffect, useRef, useState } from 'preact/hooks';
import type { ImpactPreview } from '../../api/generated/graphql';

/** Publishing or rolling back: a comment is required, and the confirmation shows what it will do. */
export function PublishDialog({
  title,
  action,
  preview,
  onConfirm,
  onCancel,
}: {
  title: string;
  action: string;
  preview: ImpactPreview | null;
  onConfirm: (comment: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onCancel={onCancel}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          onConfirm(comment.trim()).catch((err: Error) => {
            setError(err.message);
            setBusy(false);
          });
        }}
      >
        <h2 id="dialog-title">{title}</h2>
        {preview ? (
          <div class="confirm-impact" data-testid="confirm-impact">
            <p>
              <strong>{preview.moving}</strong> of {preview.customers} customers will change status:
            </p>
            <ul>
              {preview.cells.map((c) => (
                <li key={`${c.from}-${c.to}`}>
                  {c.from} → {c.to}: {c.count}
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p class="muted">The impact was not previewed.</p>
        )}
        <label for="comment">Comment (required: why, for the audit log)</label>
        <textarea id="comment" required maxLength={1000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
        {error ? (
          <p class="note error" role="alert">
            {error}
          </p>
        ) : null}
        <div class="actions">
          <button type="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || comment.trim() === ''} data-testid="confirm">
            {busy ? 'Working…' : action}
          </button>
        </div>
      </form>
    </dialog>
  );
}

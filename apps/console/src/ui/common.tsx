import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api/client';

export function ErrorNote({ error }: { error: Error | ApiError | null }) {
  if (!error) return null;
  const code = 'code' in error ? (error as ApiError).code : null;
  return (
    <p class="note error" role="alert">
      {code ? <strong>{code}: </strong> : null}
      {error.message}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted" aria-live="polite">Loading {what}…</p>;
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <header class="card-head">
        <h2>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '–');

export const short = (checksum: string): string => checksum.slice(0, 12);

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`}>{status}</span>;
}

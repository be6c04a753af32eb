import { finished } from 'node:stream/promises';
import { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EntityManager } from 'typeorm';

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;

/** A column value in COPY's text format: `\N` for null; backslash, tab and line breaks escaped. */
export function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  return SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (c) => ESCAPES[c]) : v;
}

/** A timestamp in COPY's text format; the last one is remembered (a page's rows share theirs). */
export function isoTimestamps(): (ms: number | null) => string {
  let lastMs: number | null = null;
  let last = '\\N';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      last = ms === null ? '\\N' : new Date(ms).toISOString();
    }
    return last;
  };
}

/**
 * Lines of COPY's text format, gathered into buffers of about 64 KB as they come: the many small
 * strings a line is made of die young instead of surviving, as one long concatenation, until the
 * whole table is sent.
 */
export class CopyText {
  private readonly chunks: Buffer[] = [];
  private pending = '';

  add(line: string): void {
    this.pending += line;
    if (this.pending.length >= 65_536) this.flush();
  }

  buffers(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  private flush(): void {
    if (this.pending === '') return;
    this.chunks.push(Buffer.from(this.pending));
    this.pending = '';
  }
}

/**
 * Streams `data` (lines of COPY's text format) into `COPY … FROM STDIN` on the connection of the
 * entity manager's transaction. A refused row (a unique violation, say) rejects with PostgreSQL's
 * error, and the transaction is then aborted like after any failed statement.
 */
export async function copyIn(em: EntityManager, sql: string, data: CopyText): Promise<void> {
  const chunks = data.buffers();
  if (chunks.length === 0) return;
  if (!em.queryRunner) throw new Error('COPY needs the entity manager of a transaction');
  const client = (await em.queryRunner.connect()) as PoolClient;
  const stream = client.query(copyFrom(sql));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await finished(stream);
}

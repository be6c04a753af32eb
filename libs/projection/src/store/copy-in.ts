import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { PoolClient } from 'pg';
import { from as copyFrom, CopyStreamQuery } from 'pg-copy-streams';
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

const CHUNK = 65_536;

/**
 * Rows of COPY's text format, written into buffers of 64 KB as they come: each row's string dies
 * at once (a page-long concatenation kept every piece of it alive through every scavenge, and its
 * final flattening copied it all once more).
 */
export class CopyText {
  private readonly chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(CHUNK);
  private used = 0;

  /**
   * One row from its columns' values, already in COPY's text format (see `copyValue`). Joined in
   * one go: a template literal would make a string for every piece it adds.
   */
  row(values: string[]): void {
    const line = values.join('\t');
    // A UTF-16 unit takes at most 3 bytes in UTF-8: a row that surely fits is written at once; one
    // that may not is measured, so that a row is never cut and a long one gets no more than it needs.
    if (line.length * 3 + 1 > this.buf.length - this.used) {
      const bytes = Buffer.byteLength(line) + 1;
      if (bytes > this.buf.length - this.used) this.next(bytes);
    }
    this.used += this.buf.write(line, this.used);
    this.buf[this.used++] = 0x0a;
  }

  buffers(): Buffer[] {
    this.seal();
    return this.chunks;
  }

  private next(room: number): void {
    this.seal();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK, room));
  }

  /** What is written so far becomes a chunk; the rest of the buffer takes the next lines. */
  private seal(): void {
    if (this.used === 0) return;
    this.chunks.push(this.buf.subarray(0, this.used));
    this.buf = this.buf.subarray(this.used);
    this.used = 0;
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
  const stream = client.query(copyStream(sql));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await finished(stream);
}

/** Rows a streamed COPY formats at a time: about one 64 KB buffer of them. */
const ROWS_PER_READ = 256;

/**
 * Streams `rows` (each column's value in COPY's text format) into `COPY … FROM STDIN` on the
 * connection of the entity manager's transaction, formatting them as the connection takes them:
 * memory holds a few buffers whatever the number of rows, and this process formats while
 * PostgreSQL inserts. Resolves with the number of rows; a refused row rejects as in `copyIn`.
 */
export async function copyRowsIn(em: EntityManager, sql: string, rows: Iterable<string[]>): Promise<number> {
  if (!em.queryRunner) throw new Error('COPY needs the entity manager of a transaction');
  const client = (await em.queryRunner.connect()) as PoolClient;
  let count = 0;
  function* buffers(): Generator<Buffer> {
    let text = new CopyText();
    let n = 0;
    for (const row of rows) {
      text.row(row);
      count += 1;
      if (++n === ROWS_PER_READ) {
        yield* text.buffers();
        text = new CopyText();
        n = 0;
      }
    }
    yield* text.buffers();
  }
  await pipeline(Readable.from(buffers()), client.query(copyStream(sql)));
  return count;
}

/** What pg-copy-streams writes to after an error: nothing reaches the server (which drops it anyway). */
const DISCARD = { write: () => true, once: () => undefined };

/**
 * pg-copy-streams' `COPY … FROM STDIN`, made safe for a COPY that PostgreSQL refuses while the
 * stream still waits for the socket to drain (a unique violation in a page larger than the
 * socket's buffers): the stream drops its connection on the error, and its pending 'drain'
 * handler then wrote to it anyway and threw out of an event handler, ending the process
 * (brianc/node-pg-copy-streams#171, open in 7.0.0). After an error it writes into the void
 * instead: PostgreSQL drops whatever follows a refused COPY.
 */
function copyStream(sql: string): CopyStreamQuery {
  // Members the library has and its types do not declare.
  const stream = copyFrom(sql) as CopyStreamQuery & { handleError(e: Error): void; connection: unknown };
  const handleError = stream.handleError.bind(stream);
  stream.handleError = (e: Error) => {
    handleError(e);
    stream.connection = { stream: DISCARD };
  };
  return stream;
}

import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';

/**
 * Several statements of a write in one round trip. node-postgres sends one statement at a time and
 * waits for its answer; a batch's ten statements cost ten round trips, most of a batch's time at
 * moderate rates (docs/benchmarks.md, freshness). PostgreSQL's simple query protocol takes a script
 * of statements in one message and runs them one after the other, each with a snapshot of its own
 * under READ COMMITTED (so a read after a lock statement sees what the lock's previous holder
 * committed, as with separate round trips). The simple protocol has no parameters: each statement
 * keeps its `$n` placeholders, and its parameters are written into the text as literals here.
 */

export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/** A client of the pool, as node-postgres has it. */
export interface ScriptClient {
  query(text: string): Promise<{ rows: unknown[] } | Array<{ rows: unknown[] }>>;
}

/**
 * The dollar-quote tag of this process's literals: random, so that no value is likely to hold it,
 * and checked against each value anyway (a value that holds it gets a tag of its own).
 */
const TAG = `$sv${randomBytes(6).toString('hex')}$`;

function quoted(text: string): string {
  // The query text is NUL-terminated on the wire: a NUL would cut the script short. As a
  // parameter it is refused by PostgreSQL as data (22021); here as a RangeError, also data.
  if (text.includes('\u0000')) throw new RangeError('a text value holds a NUL character, which PostgreSQL cannot store');
  let tag = TAG;
  while (text.includes(tag)) tag = `$sv${randomBytes(6).toString('hex')}$`;
  return `${tag}${text}${tag}`;
}

/** An array literal's element: quoted, with `"` and `\` escaped; null is NULL. */
function arrayElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  return `"${scalarText(v).replace(/["\\]/g, '\\$&')}"`;
}

function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`${v} is not a number PostgreSQL can store here`);
    return String(v);
  }
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new RangeError('an invalid date');
    return v.toISOString();
  }
  throw new TypeError(`a value of type ${typeof v} cannot be a statement's parameter`);
}

/**
 * A parameter as a literal of the same meaning: null is NULL; a string, a number, a date or a
 * boolean a quoted literal of unknown type (typed by its context or its cast, as a parameter is);
 * an array an array literal (the statement casts it, as it casts the parameter); an object JSON.
 */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return quoted(`{${v.map(arrayElement).join(',')}}`);
  if (typeof v === 'object' && !(v instanceof Date)) return quoted(JSON.stringify(v));
  return quoted(scalarText(v));
}

/** The statement's text with its parameters written in. Its own text holds no `$n` but its placeholders. */
export function inline(s: Statement): string {
  return s.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= s.params.length) throw new Error(`statement refers to $${n} but has ${s.params.length} parameters`);
    return literal(s.params[i]);
  });
}

/** Runs the statements as one script in one round trip; the rows of each, in order. */
export async function runScript(client: ScriptClient, statements: readonly (Statement | string)[]): Promise<unknown[][]> {
  if (statements.length === 0) return [];
  const text = statements.map((s) => (typeof s === 'string' ? s : inline(s))).join(';\n');
  const result = await client.query(text);
  const results = Array.isArray(result) ? result : [result];
  return results.map((r) => r.rows ?? []);
}

/** The connection of a TypeORM transaction's entity manager, to run scripts in that transaction. */
export async function clientOf(em: EntityManager): Promise<ScriptClient> {
  if (!em.queryRunner) throw new Error('a script runs in a transaction: this entity manager has none');
  return (await em.queryRunner.connect()) as ScriptClient;
}

interface PoolClient extends ScriptClient {
  release(err?: Error | boolean): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * A transaction whose START goes with its first script and whose COMMIT with its last: a batch's
 * write is three round trips (records, customers read under their locks, customers written).
 */
export class ScriptTransaction {
  private begun = false;
  private ended = false;

  private constructor(private readonly client: PoolClient) {}

  /** Runs the statements in the transaction, beginning it with them if it has not begun. */
  async run(statements: readonly Statement[]): Promise<unknown[][]> {
    if (this.ended) throw new Error('the transaction has ended');
    if (this.begun) return runScript(this.client, statements);
    this.begun = true;
    return (await runScript(this.client, ['START TRANSACTION', ...statements])).slice(1);
  }

  /** Runs the statements and commits with them. */
  async commit(statements: readonly Statement[] = []): Promise<unknown[][]> {
    if (this.ended) throw new Error('the transaction has ended');
    const head = this.begun ? [] : ['START TRANSACTION'];
    this.begun = true;
    this.ended = true;
    const rows = await runScript(this.client, [...head, ...statements, 'COMMIT']);
    return rows.slice(head.length, rows.length - 1);
  }

  /**
   * Runs `work` in a transaction on a connection of `db`'s pool: committed by `work`'s `commit`,
   * rolled back if `work` throws or returns without committing. The connection goes back to the
   * pool unless it broke (an error while it was checked out, or a rollback that failed).
   */
  static async within<T>(db: DataSource, work: (tx: ScriptTransaction) => Promise<T>): Promise<T> {
    const pool = (db.driver as unknown as { master: { connect(): Promise<PoolClient> } }).master;
    const client = await pool.connect();
    let broken: Error | undefined;
    // A connection lost between two scripts is reported as an event: without a listener, a crash.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    const tx = new ScriptTransaction(client);
    let failed = false;
    try {
      return await work(tx);
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      if (tx.begun && (failed || !tx.ended) && !broken) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
      }
      client.removeListener('error', onError);
      client.release(broken);
    }
  }
}

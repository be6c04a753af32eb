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
  query(text: string): Promise<ScriptResult | ScriptResult[]>;
}

interface ScriptResult {
  rows: unknown[];
  command: string | null;
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
  // The literal ends at the first tag after the opening one: not in the value, nor made by the
  // value's end and the closing tag (a value ending in `$sv…` without the last `$`).
  let tag = TAG;
  while ((text + tag).indexOf(tag) !== text.length) tag = `$sv${randomBytes(6).toString('hex')}$`;
  return `${tag}${text}${tag}`;
}

/** An array literal's element: quoted, with `"` and `\` escaped; null is NULL. */
function arrayElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object' && !(v instanceof Date)) throw new TypeError('an array parameter holds scalars only');
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
  if (Buffer.isBuffer(v)) throw new TypeError('a Buffer cannot be a statement\'s parameter here (it would be sent as JSON, not bytea)');
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
  return (await runScriptResults(client, statements)).map((r) => r.rows ?? []);
}

async function runScriptResults(client: ScriptClient, statements: readonly (Statement | string)[]): Promise<ScriptResult[]> {
  if (statements.length === 0) return [];
  const text = statements.map((s) => (typeof s === 'string' ? s : inline(s))).join(';\n');
  const result = await client.query(text);
  return Array.isArray(result) ? result : [result];
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
/**
 * READ COMMITTED named, not taken from the server's default: a read after a lock statement must
 * have a snapshot of its own (REPEATABLE READ would give every statement the first one's).
 */
const START = 'START TRANSACTION ISOLATION LEVEL READ COMMITTED';

export class ScriptTransaction {
  private begun = false;
  /** A script failed (or was refused before it was sent): the transaction can only roll back. */
  private failed = false;
  private committed = false;

  private constructor(private readonly client: PoolClient) {}

  /** Runs the statements in the transaction, beginning it with them if it has not begun. */
  async run(statements: readonly Statement[]): Promise<unknown[][]> {
    this.usable();
    const head = this.begun ? [] : [START];
    const rows = await this.send([...head, ...statements]);
    return rows.slice(head.length).map((r) => r.rows ?? []);
  }

  /** Runs the statements and commits with them; throws unless PostgreSQL answered the COMMIT with COMMIT. */
  async commit(statements: readonly Statement[] = []): Promise<unknown[][]> {
    this.usable();
    const head = this.begun ? [] : [START];
    const results = await this.send([...head, ...statements, 'COMMIT']);
    // A COMMIT of a transaction that an error aborted answers ROLLBACK, without an error.
    const last = results[results.length - 1];
    if (last?.command !== 'COMMIT') {
      this.failed = true;
      throw new Error(`the transaction was not committed (PostgreSQL answered ${last?.command ?? 'nothing'})`);
    }
    this.committed = true;
    return results.slice(head.length, results.length - 1).map((r) => r.rows ?? []);
  }

  private usable(): void {
    if (this.committed) throw new Error('the transaction has committed');
    if (this.failed) throw new Error('the transaction failed: it can only roll back');
  }

  private async send(statements: readonly (Statement | string)[]): Promise<ScriptResult[]> {
    // Begun as soon as a START may have reached the server, so that the end rolls it back.
    this.begun = true;
    try {
      return await runScriptResults(this.client, statements);
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  /**
   * Runs `work` in a transaction on a connection of `db`'s pool: committed by `work`'s `commit`,
   * rolled back otherwise (`work` threw, returned without committing, or caught a failed script).
   * The connection goes back to the pool unless it broke (an error while it was checked out, or a
   * rollback that failed).
   */
  static async within<T>(db: DataSource, work: (tx: ScriptTransaction) => Promise<T>): Promise<T> {
    const pool = (db.driver as unknown as { master: { connect(): Promise<PoolClient> } }).master;
    const client = await pool.connect();
    let broken: Error | undefined;
    // A connection lost between two scripts is reported as an event: without a listener, a crash.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    const tx = new ScriptTransaction(client);
    try {
      return await work(tx);
    } finally {
      if (tx.begun && !tx.committed && !broken) {
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

import { Client } from 'pg';
import { OperatorError, SourceSystem } from '@app/config';
import { Lsn, parseLsn } from './lsn';
import { destroySocket, quoteIdent, quoteLiteral } from './replication.connection';

export type PostgresSourceErrorCode =
  /** wal_level is not logical: the server cannot decode its WAL. */
  | 'WAL_LEVEL'
  /** The role may not create the publication or the slot: the SQL to run is in the message. */
  | 'SETUP_REQUIRED'
  /** The slot's WAL was removed (max_slot_wal_keep_size): changes since its position are lost. */
  | 'SLOT_INVALIDATED'
  /** A slot of that name exists for another database or plugin. */
  | 'SLOT_MISMATCH'
  /** The system's table (or its schema) is not in the legacy database. */
  | 'TABLE_MISSING';

/** Why a PostgreSQL direct source cannot stream, with what to do about it. */
export class PostgresSourceError extends OperatorError {
  constructor(
    readonly code: PostgresSourceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The slot and publication of a system: `<prefix>_<system>`, lower case, what PostgreSQL allows in a slot name (63 bytes). */
export function replicationNames(prefix: string, system: string): { slot: string; publication: string } {
  const name = `${prefix}_${system}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
  return { slot: name, publication: name };
}

/** The system's table as schema and name (`crm.customers`; `accounts` is in `public`). */
export function tableOf(system: SourceSystem): { schema: string; name: string } {
  const dot = system.table.indexOf('.');
  return dot < 0 ? { schema: 'public', name: system.table } : { schema: system.table.slice(0, dot), name: system.table.slice(dot + 1) };
}

export interface SlotState {
  /** null when there is no slot yet. */
  exists: boolean;
  confirmedFlush: Lsn | null;
  walStatus: string | null;
}

const PERMISSION = new Set(['42501', '55000']);

/**
 * The publication and slot of one system on its legacy database: read, created when the role may,
 * else an error whose message is the SQL to run; dropped on request (the CLI). Runs on an ordinary
 * connection; the slot itself is created on the replication connection (see PostgresDirectSource).
 */
export class ReplicationSlotAdmin {
  constructor(
    private readonly client: Client,
    private readonly system: SourceSystem,
    readonly slot: string,
    readonly publication: string,
  ) {}

  /** `timeoutMs`: how long a connect or a query may take before it fails (a dead link answers nothing). */
  static async open(url: string, system: SourceSystem, prefix: string, timeoutMs?: number): Promise<ReplicationSlotAdmin> {
    const client = new Client({ connectionString: url, application_name: `statusview-admin-${system.name}`, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
    await client.connect();
    const { slot, publication } = replicationNames(prefix, system.name);
    return new ReplicationSlotAdmin(client, system, slot, publication);
  }

  close(): Promise<void> {
    return this.client.end();
  }

  /** Whether the connection still answers (within the query timeout). */
  async alive(): Promise<boolean> {
    try {
      await this.client.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Ends the walsender `pid` if it still holds this slot: the server side of a connection this
   * source took for dead, which keeps the slot active (and refuses a new stream) until the
   * server's wal_sender_timeout. True when it was ended.
   */
  async endStaleStream(pid: number): Promise<boolean> {
    const { rows } = await this.client.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(active_pid) AS ended FROM pg_replication_slots WHERE slot_name = $1 AND active_pid = $2',
      [this.slot, pid],
    );
    return rows[0]?.ended === true;
  }

  /** Drops the connection without waiting for the server. */
  destroy(): void {
    destroySocket(this.client);
    this.client.end().catch(() => undefined);
  }

  get qualifiedTable(): string {
    const t = tableOf(this.system);
    return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
  }

  async checkWalLevel(): Promise<void> {
    const { rows } = await this.client.query<{ wal_level: string }>('SHOW wal_level');
    if (rows[0]?.wal_level !== 'logical') {
      throw new PostgresSourceError(
        'WAL_LEVEL',
        `systems.${this.system.name}: the legacy database runs with wal_level=${rows[0]?.wal_level}, logical replication needs wal_level=logical: ` +
          `ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (statusview never changes a server's settings)`,
      );
    }
  }

  /** Creates the publication of the system's table if it is missing. */
  async ensurePublication(): Promise<'created' | 'exists'> {
    const { rows } = await this.client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [this.publication]);
    if (rows.length > 0) return 'exists';
    const sql = `CREATE PUBLICATION ${quoteIdent(this.publication)} FOR TABLE ${this.qualifiedTable}`;
    try {
      await this.client.query(sql);
      return 'created';
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (PERMISSION.has(code)) throw this.setupRequired(`${sql}; ${this.slotSql()}`, e as Error);
      if (code === '3F000' || code === '42P01') {
        throw new PostgresSourceError(
          'TABLE_MISSING',
          `systems.${this.system.name}: the table ${this.qualifiedTable} is not in the legacy database (${(e as Error).message}): ` +
            `check the system's table in sources.yaml and that its connection URL names the database that holds it`,
        );
      }
      throw e;
    }
  }

  async slotState(): Promise<SlotState> {
    const { rows } = await this.client.query<{ plugin: string; database: string; confirmed_flush_lsn: string | null; wal_status: string | null }>(
      'SELECT plugin, database, confirmed_flush_lsn::text, wal_status FROM pg_replication_slots WHERE slot_name = $1',
      [this.slot],
    );
    const row = rows[0];
    if (!row) return { exists: false, confirmedFlush: null, walStatus: null };
    const { rows: db } = await this.client.query<{ db: string }>('SELECT current_database() AS db');
    if (row.plugin !== 'pgoutput' || row.database !== db[0].db) {
      throw new PostgresSourceError(
        'SLOT_MISMATCH',
        `systems.${this.system.name}: replication slot "${this.slot}" exists for database ${row.database} with plugin ${row.plugin}, not ${db[0].db} with pgoutput: ` +
          `set DIRECT_PG_SLOT_PREFIX to another prefix, or drop that slot if it is no longer used`,
      );
    }
    if (row.wal_status === 'lost') throw this.invalidated(row.confirmed_flush_lsn);
    return { exists: true, confirmedFlush: row.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : null, walStatus: row.wal_status };
  }

  invalidated(at: string | null): PostgresSourceError {
    return new PostgresSourceError(
      'SLOT_INVALIDATED',
      `systems.${this.system.name}: replication slot "${this.slot}" was invalidated: PostgreSQL removed WAL it still needed (max_slot_wal_keep_size), ` +
        `so the changes after ${at ?? 'its position'} are lost. To recover: \`npm run cli -- direct-slot drop ${this.system.name}\`, then start statusview again: ` +
        `it creates a new slot and loads the table in its snapshot, so the view ends equal to the table (the changes in between are not in the customers' history)`,
    );
  }

  /**
   * Marks, on the publication's comment, that the first start's snapshot is being loaded or was
   * loaded: a start that finds `loading` with a slot knows the load was cut off (a crash), drops
   * the slot and loads again. False when the role may not comment on the publication (it did not
   * create it): the snapshot is then loaded without the mark.
   */
  async markSnapshot(state: 'loading' | 'loaded'): Promise<boolean> {
    try {
      await this.client.query(`COMMENT ON PUBLICATION ${quoteIdent(this.publication)} IS ${quoteLiteral(`statusview: snapshot ${state}`)}`);
      return true;
    } catch (e) {
      if (PERMISSION.has((e as { code?: string }).code ?? '')) return false;
      throw e;
    }
  }

  async snapshotInterrupted(): Promise<boolean> {
    const { rows } = await this.client.query<{ c: string | null }>(
      `SELECT obj_description(oid, 'pg_publication') AS c FROM pg_publication WHERE pubname = $1`,
      [this.publication],
    );
    return rows[0]?.c === 'statusview: snapshot loading';
  }

  async restartLsn(): Promise<Lsn> {
    const { rows } = await this.client.query<{ lsn: string | null }>('SELECT restart_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [this.slot]);
    if (!rows[0]?.lsn) throw new Error(`replication slot "${this.slot}" has no restart_lsn`);
    return parseLsn(rows[0].lsn);
  }

  async dropSlot(): Promise<void> {
    await this.client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [this.slot]);
  }

  /** The SQL a privileged role runs to create the slot, for the error when this role may not. */
  slotSql(): string {
    return `SELECT pg_create_logical_replication_slot(${quoteLiteral(this.slot)}, 'pgoutput');`;
  }

  setupRequired(sql: string, cause: Error): PostgresSourceError {
    return new PostgresSourceError(
      'SETUP_REQUIRED',
      `systems.${this.system.name}: the role may not set up logical replication (${cause.message}); run as a superuser on the legacy database: ${sql} ` +
        `(the role itself needs REPLICATION and SELECT on ${this.qualifiedTable}), then start statusview again`,
    );
  }

  /** Who streams from the slot now (its walsender's application and client address), or null when no one does. */
  async activeUser(): Promise<string | null> {
    const { rows } = await this.client.query<{ pid: number; app: string | null; addr: string | null }>(
      `SELECT s.active_pid AS pid, a.application_name AS app, a.client_addr::text AS addr
         FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
        WHERE s.slot_name = $1 AND s.active_pid IS NOT NULL`,
      [this.slot],
    );
    const r = rows[0];
    return r ? `walsender ${r.pid}${r.app ? ` (${r.app}${r.addr ? ` from ${r.addr}` : ''})` : ''}` : null;
  }

  /** Drops the slot (terminating a walsender still using it) and the publication; what existed. */
  async drop(): Promise<{ slot: boolean; publication: boolean }> {
    const active = await this.client.query<{ pid: number | null }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [this.slot]);
    let slot = false;
    if (active.rows.length > 0) {
      if (active.rows[0].pid !== null) await this.client.query('SELECT pg_terminate_backend($1)', [active.rows[0].pid]);
      // A terminated walsender releases the slot a moment later: retry while it is still active.
      for (let attempt = 0; ; attempt++) {
        try {
          await this.client.query('SELECT pg_drop_replication_slot($1)', [this.slot]);
          slot = true;
          break;
        } catch (e) {
          if ((e as { code?: string }).code !== '55006' || attempt >= 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    const pub = await this.client.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [this.publication]);
    if (pub.rows.length > 0) await this.client.query(`DROP PUBLICATION ${quoteIdent(this.publication)}`);
    return { slot, publication: pub.rows.length > 0 };
  }

  /** How far the slot is behind the server's WAL (bytes) and how much WAL it holds back. */
  async lag(): Promise<{ lagBytes: number; retainedBytes: number } | null> {
    const { rows } = await this.client.query<{ lag: string | null; retained: string | null }>(
      `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
      [this.slot],
    );
    if (!rows[0]) return null;
    return { lagBytes: Number(rows[0].lag ?? 0), retainedBytes: Number(rows[0].retained ?? 0) };
  }
}

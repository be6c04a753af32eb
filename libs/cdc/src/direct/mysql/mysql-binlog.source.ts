import { randomInt } from 'node:crypto';
import { Connection, createConnection } from 'mysql2/promise';
// An ES module: node requires it natively (its namespace carries __esModule, so the default import works).
import ZongJiClass from '@vlasky/zongji';
import { SourceCheckpoint } from '@app/change-events';
import { redactUrl } from '@app/config';
import { setBinlogLagReading } from '@app/observability';
import { InboundChange, MessageVerdict, retryUntilDone } from '../../transports/change-sink';
import { ChangeTransport } from '../../transports/change-transport';
import { ConsumerProgress } from '../../transports/consumer-progress';
import { DeadLetterEntry, DirectSourceContext, DirectSourceFactory } from '../direct-source';
import { atOrAfter, BinlogPoint, checkpointPosition, pointOf } from './binlog-position';
import { loadBinlogSnapshot, NoConsistentSnapshot } from './binlog-snapshot.loader';
import { BinlogEventLike, BinlogTransactions, CommittedUnit } from './binlog-transactions';
import { binaryLogs, binlogStatus, checkBinlogServer, SNAPSHOT_LOADING, snapshotLoadingCheckpoint, tableColumns } from './mysql-server.check';
import { MysqlSourceError } from './mysql-source.errors';

type ZongJi = InstanceType<typeof ZongJiClass>;

/** Changes held in memory before the binlog connection is paused (a multiple of the batch size). */
const QUEUED_BATCHES = 20;
/** A binlog file's first event starts after its 4-byte magic number. */
const BINLOG_FILE_START = 4;

/** While only other tables' transactions pass, the checkpoint follows them at most this often. */
const IDLE_CHECKPOINT_MS = 1_000;
/** A stream that fails sooner than this after it became ready is opened again with a growing backoff. */
const QUICK_END_MS = 1_000;
/** How often the server's binlog end is read for the lag. */
const LAG_POLL_MS = 2_000;

const EVENTS = ['rotate', 'gtid', 'mariadbgtid', 'query', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'xaprepare'];

/**
 * A MySQL/MariaDB table read from the server's row-based binlog (zongji, over mysql2), with no
 * Debezium and no broker. Each committed transaction's rows of the table become change events at
 * the positions Debezium would give them; they are applied in batches through the one ingest use
 * case, each batch's commit carrying the checkpoint (the point after the last transaction in it),
 * from which the source resumes after a restart or a crash: nothing is lost, and what a crash
 * replays is only what had not been committed. Rows that cannot be mapped are dead-lettered in
 * PostgreSQL with their reason and the stream goes on. A lost connection is retried with backoff
 * from the last transaction received, and shows in /health meanwhile.
 */
export class MysqlBinlogSource implements ChangeTransport {
  readonly progress: ConsumerProgress;
  private readonly who: string;
  private readonly db: string;
  private readonly table: string;
  private control: Connection | null = null;
  private zongji: ZongJi | null = null;
  private readonly transactions: BinlogTransactions;
  private readonly queue: CommittedUnit[] = [];
  private queued = 0;
  private paused = false;
  /** The point after the last transaction received (applied or queued). */
  private received: BinlogPoint | null = null;
  private receivedGtid: string | null = null;
  /** The last checkpoint committed. */
  private committed: SourceCheckpoint | null = null;
  /**
   * The point after the last batch applied whose dead letters are stored too: what the next
   * batch's commit may claim. A batch's own end is not committed with it, since the changes the
   * projection refuses are known only then and dead-lettered after its commit: a crash between the
   * two would lose them. A crash there replays the batch instead (its changes stale no-ops, its
   * dead letters kept once per change).
   */
  private settled: SourceCheckpoint | null = null;
  /** A batch is being applied or its dead letters stored (or was given up at shutdown). */
  private inFlight = false;
  private committedAt = 0;
  private server: { end: BinlogPoint; files: Array<{ file: string; size: number }> } | null = null;
  private connected = false;
  private stopping = false;
  private started = false;
  private worker: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private reconnectDelay = 100;
  /** When the current stream became ready: one that fails sooner than QUICK_END_MS after keeps the backoff growing. */
  private streamingSince = 0;
  private reconnects = 0;
  private lastError: string | null = null;
  /** When the stream last brought an event (any table's), and the server's binlog end at the previous poll. */
  private lastEventAt = 0;
  private previousEnd: BinlogPoint | null = null;
  private readonly stats = { transactions: 0, changes: 0, batches: 0, deadLettered: 0 };

  constructor(private readonly ctx: DirectSourceContext) {
    const { system, url, env } = ctx;
    this.progress = new ConsumerProgress(env.cdc.stallAfterMs);
    const parsed = new URL(url);
    const dot = system.table.lastIndexOf('.');
    this.db = dot < 0 ? decodeURIComponent(parsed.pathname.replace(/^\//, '')) : system.table.slice(0, dot);
    this.table = dot < 0 ? system.table : system.table.slice(dot + 1);
    this.who = `systems.${system.name}: MySQL binlog at ${redactUrl(url)} (${system.connection?.urlEnv ?? 'url'})`;
    this.transactions = new BinlogTransactions(system, ctx.events, this.db, this.table, () => this.zongji?.useChecksum ?? true, (unit, resume, gtid) => this.committedTx(unit, resume, gtid));
  }

  get running(): boolean {
    return this.started && !this.stopping && this.connected;
  }

  async start(): Promise<void> {
    if (!this.db) throw new MysqlSourceError('TABLE_MISSING', `${this.who}: no database: name it in the URL's path or as "db.table" in the system's table`);
    this.stopping = false;
    try {
      await this.open();
    } catch (e) {
      this.disconnect();
      await this.control?.end().catch(() => undefined);
      this.control = null;
      throw e;
    }
    this.started = true;
    this.worker = this.work();
    this.every(LAG_POLL_MS, () => this.pollServer());
    setBinlogLagReading(this.ctx.system.name, () => this.lag());
  }

  /** Checks the server, finds where to resume (or loads the table on a first start) and streams from there. */
  private async open(): Promise<void> {
    const server = await this.check();
    const last = await this.ctx.checkpoints.last(this.ctx.system.name);
    const interrupted = last !== null && last.position.kind === 'ts' && last.position.text.startsWith(SNAPSHOT_LOADING);
    let from: BinlogPoint;
    if (last && !interrupted) {
      try {
        from = pointOf(last.position);
      } catch (e) {
        throw new MysqlSourceError('BAD_CHECKPOINT', `${this.who}: the stored checkpoint ${last.position.text} is not a binlog position (${(e as Error).message})`, e);
      }
      if (!server.files.some((f) => f.file === from.file)) {
        throw new MysqlSourceError(
          'BINLOG_PURGED',
          `${this.who}: the checkpoint ${last.position.text} is in ${from.file}, which the server no longer has (purged; oldest is ${server.files[0]?.file ?? 'none'}): ` +
            `changes since then are lost to the binlog. With the service stopped, run \`npm run cli -- direct-checkpoint reset ${this.ctx.system.name}\`, then start the service: ` +
            `it loads the table in a consistent snapshot and streams from there, so the view ends equal to the table (README, "Direct CDC from MySQL/MariaDB")`,
        );
      }
      this.committed = last;
      this.ctx.logger.log(`${this.who}: resuming after ${last.position.text}${last.gtid ? ` (gtid ${last.gtid})` : ''}`);
    } else {
      if (interrupted && last.position.text === snapshotLoadingCheckpoint(this.ctx.system.name, 'asked by direct-checkpoint reset').position.text) this.ctx.logger.warn(`${this.who}: a reload was asked (direct-checkpoint reset); loading the table in a consistent snapshot`);
      else if (interrupted) this.ctx.logger.warn(`${this.who}: the first start's snapshot load was cut off; loading the table again`);
      // A system fed through Debezium until now streams on from where it stood; any other loads the table first.
      from = (!interrupted && (await this.switchPoint(server))) || (await this.loadTable(server));
      // Recorded at once, so a restart before the first change resumes there too.
      const checkpoint = this.checkpointAt(from, Date.now(), server.gtid);
      await this.ctx.sink.apply([], { checkpoint });
      this.committed = checkpoint;
    }
    this.received = from;
    await this.connect(from);
  }

  /**
   * A first start of a system the projection already holds records of at binlog positions (it was
   * fed through Debezium until now): the stream starts at the beginning of the binlog file of the
   * newest of them, so that nothing committed between Debezium's last event and this start is
   * skipped. Debezium's `source.pos` is where a rows event starts, and a rows event cannot be
   * decoded without the table map before it, so the file's start is the nearest point known to
   * be safe; the events up to the stored positions are applied again as stale (no-ops). Null when
   * nothing is recorded, or when that file is purged (said, with what to run).
   */
  private async switchPoint(server: { files: Array<{ file: string }> }): Promise<BinlogPoint | null> {
    const recorded = await this.ctx.checkpoints.newestRecorded(this.ctx.system.name, 'binlog');
    if (!recorded) return null;
    let point: BinlogPoint;
    try {
      point = pointOf(recorded);
    } catch {
      return null;
    }
    if (!server.files.some((f) => f.file === point.file)) {
      this.ctx.logger.warn(
        `${this.who}: the newest stored record is at ${recorded.text}, in ${point.file}, which the server no longer has: changes since then are lost to the binlog. ` +
          `Loading the table in a consistent snapshot instead (README, "Direct CDC from MySQL/MariaDB")`,
      );
      return null;
    }
    this.ctx.logger.log(`${this.who}: no checkpoint, records stored up to ${recorded.text} (Debezium): streaming from the start of ${point.file}, so nothing since is skipped`);
    return { file: point.file, pos: BINLOG_FILE_START };
  }

  /**
   * First start: the table loaded in a consistent snapshot whose binlog position is known
   * (loadBinlogSnapshot), and the stream started there. A checkpoint saying the load is under
   * way is kept until it ends, so that a start after a crash in the middle loads again (the rows
   * already loaded are overwritten, and what the table lost since is deleted). A server that
   * cannot give such a snapshot (MySQL without RELOAD) streams from the binlog's end, and the
   * operator is told to run the backfill.
   */
  private async loadTable(server: { end: BinlogPoint; version: string }): Promise<BinlogPoint> {
    const marker = snapshotLoadingCheckpoint(this.ctx.system.name, 'first start');
    await this.ctx.sink.apply([], { checkpoint: marker });
    try {
      const { point, rows } = await loadBinlogSnapshot(this.ctx, { db: this.db, name: this.table }, /mariadb/i.test(server.version), () => !this.stopping);
      if (this.stopping) throw new Error('stopped during the snapshot load');
      this.ctx.logger.log(`${this.who}: loaded ${rows} rows of ${this.db}.${this.table} from a consistent snapshot; streaming from its binlog position ${point.file}:${point.pos}`);
      return point;
    } catch (e) {
      if (!(e instanceof NoConsistentSnapshot)) throw e;
      this.ctx.logger.warn(
        `${this.who}: cannot load the table in a consistent snapshot (${e.message}): streaming from the binlog's end ${server.end.file}:${server.end.pos}; ` +
          `run \`npm run cli -- backfill --system ${this.ctx.system.name}\` for the rows written before it (README, "Direct CDC from MySQL/MariaDB")`,
      );
      return server.end;
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    setBinlogLagReading(this.ctx.system.name, null);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.disconnect();
    this.wakeUp?.();
    await this.worker?.catch((e: unknown) => this.ctx.logger.error(`${this.who}: the batch in flight at shutdown failed: ${(e as Error).message}`));
    // Graceful shutdown: when everything received is applied, the checkpoint follows the last transaction seen.
    if (this.queue.length === 0 && !this.inFlight && this.received && this.committed && this.ahead(this.received)) {
      await this.ctx.sink
        .apply([], { checkpoint: this.checkpointAt(this.received, Date.now(), this.receivedGtid) })
        .then(() => this.ctx.logger.log(`${this.who}: checkpoint at ${this.received?.file}:${this.received?.pos} on shutdown`))
        .catch((e: unknown) => this.ctx.logger.warn(`${this.who}: could not write the last checkpoint on shutdown (it resumes from the one before): ${(e as Error).message}`));
    }
    await this.control?.end().catch(() => undefined);
    this.control = null;
    this.started = false;
  }

  details(): Record<string, unknown> {
    const lag = this.lag();
    return {
      dialect: 'mysql',
      table: `${this.db}.${this.table}`,
      connected: this.connected,
      /** The server's id of the binlog dump connection (its thread in SHOW PROCESSLIST). */
      connectionId: this.zongji?.connection?.threadId ?? null,
      received: this.received ? `${this.received.file}:${this.received.pos}` : null,
      checkpoint: this.committed?.position.text ?? null,
      gtid: this.committed?.gtid ?? null,
      serverEnd: this.server ? `${this.server.end.file}:${this.server.end.pos}` : null,
      lagBytes: lag.bytes,
      lagSeconds: lag.seconds,
      queued: this.queued,
      reconnects: this.reconnects,
      lastError: this.lastError,
      ...this.stats,
    };
  }

  /** The server's settings and the table, checked at every connection: a setting changed meanwhile shows here. */
  private async check() {
    try {
      this.control ??= await createConnection({ uri: this.ctx.url, connectTimeout: 5_000 });
      this.control.on('error', () => undefined); // a dropped connection surfaces as the next query's error
    } catch (e) {
      this.control = null;
      throw connectFailure(this.who, this.ctx.system.connection?.urlEnv ?? 'its URL', e);
    }
    try {
      const server = await checkBinlogServer(this.control, this.who);
      if ((await tableColumns(this.control, this.db, this.table)).length === 0) {
        throw new MysqlSourceError(
          'TABLE_MISSING',
          `${this.who}: table ${this.db}.${this.table} does not exist (or this user may not see it): check systems.${this.ctx.system.name}.table in sources.yaml, the database in its URL, and the user's SELECT on it`,
        );
      }
      this.server = server;
      // The stream (re)starts now: a write from here on moves the end past this.
      this.previousEnd = server.end;
      return server;
    } catch (e) {
      if (!(e instanceof MysqlSourceError)) {
        await this.control.end().catch(() => undefined);
        this.control = null;
      }
      throw e;
    }
  }

  /** Opens the binlog stream at `from`; resolves once it streams, rejects with the first error. */
  private async connect(from: BinlogPoint): Promise<void> {
    const z: ZongJi = new ZongJiClass({
      uri: this.ctx.url,
      dateStrings: true,
      jsonStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: false,
      timezone: 'Z',
    });
    this.zongji = z;
    this.transactions.startAt(from);
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      z.on('ready', () => {
        ready = true;
        this.lastEventAt = Date.now();
        this.connected = true;
        this.streamingSince = Date.now();
        resolve();
      });
      z.on('binlog', (e) => {
        if (this.zongji !== z) return;
        this.lastEventAt = Date.now();
        try {
          this.transactions.handle(e as unknown as BinlogEventLike);
        } catch (err) {
          this.streamFailed(z, err);
        }
      });
      z.on('error', (err: Error) => {
        if (!ready) {
          if (this.zongji === z) this.disconnect();
          reject(new MysqlSourceError('UNREACHABLE', `${this.who}: cannot stream the binlog from ${from.file}:${from.pos}: ${err.message}`, err));
          return;
        }
        this.streamFailed(z, err);
      });
      // A server id of its own: the server drops an older replica connection with the same id.
      z.start({ serverId: randomInt(100_000, 2 ** 31 - 1), filename: from.file, position: from.pos, includeEvents: EVENTS, includeSchema: { [this.db]: [this.table] } });
    });
  }

  private disconnect(): void {
    const z = this.zongji;
    this.zongji = null;
    this.connected = false;
    this.paused = false;
    if (z) {
      z.removeAllListeners('binlog');
      z.on('error', () => undefined); // late errors of a stream given up
      z.stop();
    }
  }

  /** The stream broke: reconnect with backoff from the last transaction received (the queue keeps what it holds). */
  private streamFailed(z: ZongJi, err: unknown): void {
    if (this.zongji !== z || this.stopping) return;
    const e = err as { message?: string; errno?: number };
    // One line: an error zongji re-emits unhandled carries the inner one's stack in its message.
    const text = String(e.message ?? err).split('\n')[0].replace(/^Unhandled error\. \((?:Error: )?/, '');
    // The dump itself refused (no REPLICATION SLAVE grant): the checks before it passed.
    const grant = e.errno === 1227 || /REPLICATION SLAVE/i.test(text);
    const msg = grant ? `${text}: grant the source's user REPLICATION SLAVE (GRANT REPLICATION SLAVE ON *.* TO <user>)` : text;
    this.lastError = msg;
    this.progress.failed(msg);
    // A stream that failed as soon as it started (the same error each time) keeps the backoff growing, so that it is not a loop.
    if (Date.now() - this.streamingSince >= QUICK_END_MS) this.reconnectDelay = 100;
    this.ctx.logger.error(`${this.who}: the binlog stream failed at ${this.transactions.currentFile} (${msg}); reconnecting from ${this.received?.file}:${this.received?.pos} in ${this.reconnectDelay} ms`);
    this.disconnect();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(delay * 2, this.ctx.env.cdc.retryMaxMs);
    this.after(delay, async () => {
      if (this.stopping || !this.received) return;
      try {
        this.reconnects++;
        await this.check();
        await this.connect(this.received);
        this.lastError = null;
        this.ctx.logger.log(`${this.who}: reconnected at ${this.received.file}:${this.received.pos}`);
      } catch (e) {
        this.lastError = (e as Error).message;
        this.progress.failed(this.lastError);
        this.ctx.logger.error(`${this.who}: reconnect failed (${this.lastError}); next try in ${this.reconnectDelay} ms`);
        this.scheduleReconnect();
      }
    });
  }

  private committedTx(unit: CommittedUnit | null, resume: BinlogPoint, gtid: string | null): void {
    this.received = resume;
    this.receivedGtid = gtid ?? this.receivedGtid;
    if (unit) {
      this.stats.transactions++;
      this.queue.push(unit);
      this.queued += unit.changes.length;
      this.progress.received(unit.changes.length);
      // Bounded memory: the stream waits while the projection catches up.
      if (this.queued >= this.ctx.env.cdc.batchSize * QUEUED_BATCHES && !this.paused && this.zongji?.connection) {
        this.paused = true;
        this.zongji.connection.pause();
      }
    }
    this.wakeUp?.();
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      if (this.queue.length === 0) {
        await this.idleCheckpoint();
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, IDLE_CHECKPOINT_MS);
          t.unref();
          this.wakeUp = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeUp = null;
        continue;
      }
      await this.applyUnits(this.take());
      if (this.paused && this.queued < (this.ctx.env.cdc.batchSize * QUEUED_BATCHES) / 2) {
        this.paused = false;
        this.zongji?.connection?.resume();
      }
    }
  }

  /** Whole transactions up to the batch size (at least one, however large). */
  private take(): CommittedUnit[] {
    const max = this.ctx.env.cdc.batchSize;
    const units = [this.queue.shift() as CommittedUnit];
    let n = units[0].changes.length;
    while (this.queue.length > 0 && n + this.queue[0].changes.length <= max) {
      const u = this.queue.shift() as CommittedUnit;
      n += u.changes.length;
      units.push(u);
    }
    return units;
  }

  private async applyUnits(units: CommittedUnit[]): Promise<void> {
    this.inFlight = true;
    const last = units[units.length - 1];
    const changes = units.flatMap((u) => u.changes);
    const rows = units.flatMap((u) => u.rows);
    const claim = this.settled && this.ahead(pointOf(this.settled.position)) ? this.settled : undefined;
    const max = this.ctx.env.cdc.batchSize;
    // A transaction larger than a batch goes in several; the first carries the checkpoint of the batches before.
    for (let i = 0; i < changes.length; i += max) {
      const end = Math.min(i + max, changes.length);
      await this.applyBatch(changes.slice(i, end), rows.slice(i, end), i === 0 ? claim : undefined);
    }
    this.settled = this.checkpointAt(last.resume, last.tsMs, last.gtid);
    this.queued -= changes.length;
    this.inFlight = false;
  }

  private async applyBatch(batch: InboundChange[], rows: unknown[], checkpoint: SourceCheckpoint | undefined): Promise<void> {
    // Dead letters known before the commit are kept before the checkpoint passes them.
    const undecodable = batch.flatMap((c, i) => (c.kind === 'undecodable' ? [this.deadLetter(c.ref, c.code, c.reason, rows[i])] : []));
    if (undecodable.length > 0) await this.retried('dead-lettering', () => this.ctx.deadLetters.put(undecodable));
    const verdicts: MessageVerdict[] = await this.retried('applying a batch', () => this.ctx.sink.apply(batch, checkpoint ? { checkpoint } : {}));
    const refused = verdicts.flatMap((v, i) => (v.kind === 'dead-letter' && batch[i].kind !== 'undecodable' ? [this.deadLetter(batch[i].ref, v.code, v.reason, rows[i])] : []));
    if (refused.length > 0) await this.retried('dead-lettering', () => this.ctx.deadLetters.put(refused));
    for (const d of [...undecodable, ...refused]) this.ctx.logger.warn(`${this.who}: dead-lettered ${d.ref} (${d.code}): ${d.reason}`);
    this.stats.batches++;
    this.stats.changes += batch.length;
    this.stats.deadLettered += undecodable.length + refused.length;
    this.progress.settled(batch.length);
    if (checkpoint) this.markCommitted(checkpoint);
  }

  /** While only other tables change, the checkpoint follows the stream now and then (a restart then rereads less). */
  private async idleCheckpoint(): Promise<void> {
    const at = this.received;
    if (!at || !this.ahead(at) || Date.now() - this.committedAt < IDLE_CHECKPOINT_MS) return;
    const checkpoint = this.checkpointAt(at, Date.now(), this.receivedGtid);
    try {
      await this.ctx.sink.apply([], { checkpoint });
      this.markCommitted(checkpoint);
    } catch (e) {
      this.ctx.logger.warn(`${this.who}: could not advance the checkpoint while idle (retried later): ${(e as Error).message}`);
    }
  }

  private markCommitted(checkpoint: SourceCheckpoint): void {
    this.committed = checkpoint;
    this.committedAt = Date.now();
  }

  private ahead(point: BinlogPoint): boolean {
    if (!this.committed) return true;
    const done = pointOf(this.committed.position);
    return !atOrAfter(done, point);
  }

  private retried<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retryUntilDone(fn, {
      maxDelayMs: this.ctx.env.cdc.retryMaxMs,
      keepGoing: () => !this.stopping,
      onRetry: (e, attempt, delay) => {
        const msg = (e as Error).message;
        this.lastError = msg;
        this.progress.failed(msg);
        this.ctx.logger.warn(`${this.who}: ${what} failed (attempt ${attempt}, retrying in ${delay} ms): ${msg}`);
      },
    });
  }

  private checkpointAt(point: BinlogPoint, tsMs: number | null, gtid: string | null): SourceCheckpoint {
    return { source: this.ctx.system.name, position: checkpointPosition(point, tsMs), gtid };
  }

  private deadLetter(ref: string, code: string, reason: string, payload: unknown): DeadLetterEntry {
    return { source: this.ctx.system.name, ref, code, reason, payload };
  }

  /**
   * Reads the server's binlog end (for the lag) and watches the stream: MySQL sends every binlog
   * event to every dump connection, so a server whose end moved since the previous poll while the
   * stream brought nothing for DIRECT_MYSQL_RECEIVE_TIMEOUT_MS has a dead link to this source (a
   * link that drops packets: TCP would notice after many minutes, and zongji gives no way to ask
   * for the server's heartbeats). The stream is then opened again from the last transaction
   * received, and the old dump thread killed. A control connection that does not answer within
   * as long is dropped and opened anew at the next poll.
   */
  private async pollServer(): Promise<void> {
    if (this.stopping) return;
    const timeoutMs = this.ctx.env.directMysql.receiveTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!this.control) {
        this.control = await createConnection({ uri: this.ctx.url, connectTimeout: timeoutMs });
        this.control.on('error', () => undefined); // a dropped connection surfaces as the next query's error
      }
      const control = this.control;
      const read = Promise.all([binlogStatus(control, this.who), binaryLogs(control, this.who)]);
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms (DIRECT_MYSQL_RECEIVE_TIMEOUT_MS)`)), timeoutMs);
      });
      const [end, files] = await Promise.race([read, timedOut]);
      this.server = { end, files };
    } catch (e) {
      this.ctx.logger.warn(`${this.who}: cannot read the server's binlog position: ${(e as Error).message}; opening the control connection again`);
      this.control?.destroy();
      this.control = null;
      return;
    } finally {
      clearTimeout(timer);
    }
    const { end } = this.server;
    const moved = this.previousEnd !== null && (end.file !== this.previousEnd.file || end.pos !== this.previousEnd.pos);
    this.previousEnd = end;
    const z = this.zongji;
    const silentMs = Date.now() - this.lastEventAt;
    // Paused on purpose (the projection is behind): the stream is quiet because it was asked to be.
    if (!moved || !z || !this.connected || this.paused || silentMs <= timeoutMs) return;
    const thread = z.connection?.threadId;
    this.ctx.logger.error(`${this.who}: the binlog stream brought nothing for ${silentMs} ms while the server's binlog moved to ${end.file}:${end.pos}: taking the link for dead`);
    this.streamFailed(z, new Error(`no binlog event for ${silentMs} ms while the server's binlog moved (DIRECT_MYSQL_RECEIVE_TIMEOUT_MS)`));
    // The old dump thread may still be on the server, writing into the void: end it (its own user's, so no privilege is needed).
    if (thread) await this.control?.query(`KILL CONNECTION ${Number(thread)}`).catch(() => undefined);
  }

  /**
   * Bytes of binlog between the checkpoint and the server's end (over rotated files by their
   * sizes), and how old the oldest transaction received but not committed is (0 when none waits).
   */
  private lag(): { bytes: number | null; seconds: number } {
    const seconds = this.queue.length > 0 ? Math.max(0, Date.now() - this.queue[0].tsMs) / 1000 : 0;
    if (!this.server || !this.committed) return { bytes: null, seconds };
    const done = pointOf(this.committed.position);
    const { end, files } = this.server;
    if (done.file === end.file) return { bytes: Math.max(0, end.pos - done.pos), seconds };
    const i = files.findIndex((f) => f.file === done.file);
    const j = files.findIndex((f) => f.file === end.file);
    if (i < 0 || j < i) return { bytes: null, seconds };
    let bytes = files[i].size - done.pos + end.pos;
    for (let k = i + 1; k < j; k++) bytes += files[k].size;
    return { bytes: Math.max(0, bytes), seconds };
  }

  private after(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    this.after(ms, async () => {
      await fn();
      if (!this.stopping) this.every(ms, fn);
    });
  }
}

export const mysqlBinlogSource: DirectSourceFactory = (ctx) => new MysqlBinlogSource(ctx);

/**
 * Why the control connection could not be opened, with what to do: the user or password refused,
 * the database refused to this user, or the server unreachable.
 */
function connectFailure(who: string, urlEnv: string, e: unknown): MysqlSourceError {
  const err = e as { errno?: number; message?: string };
  const message = String(err.message ?? e);
  if (err.errno === 1045) return new MysqlSourceError('ACCESS_DENIED', `${who}: ${message}: check the user and password in ${urlEnv}`, e);
  if (err.errno === 1044) return new MysqlSourceError('ACCESS_DENIED', `${who}: ${message}: grant the user SELECT on that database (and REPLICATION SLAVE, BINLOG MONITOR on *.*)`, e);
  return new MysqlSourceError('UNREACHABLE', `${who}: unreachable: ${message}`, e);
}

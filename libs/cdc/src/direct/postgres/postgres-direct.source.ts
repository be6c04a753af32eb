import { ChangeEvent, DecodeError, positionOf, SourcePosition } from '@app/change-events';
import { SourceSystem } from '@app/config';
import { setSlotReading } from '@app/observability';
import { DeadLetterEntry, DirectSourceContext } from '../direct-source';
import type { ConsumerStats } from '../../transports/amqp/amqp-cdc.consumer';
import { ChangeTransport } from '../../transports/change-transport';
import { ConsumerProgress } from '../../transports/consumer-progress';
import { InboundChange, MessageVerdict, retryUntilDone, undecodableChange } from '../../transports/change-sink';
import { formatLsn, Lsn, maxLsn } from './lsn';
import { decodePgValue } from './pg-value.decoder';
import { parsePgoutput, PgoutputMessage, Relation, TupleValue, UNCHANGED } from './pgoutput.parser';
import { quoteIdent, ReplicationConnection, ReplicationFrame } from './replication.connection';
import { loadSnapshot } from './snapshot.loader';
import { PostgresSourceError, ReplicationSlotAdmin, tableOf } from './replication-slot';

/** A stream that ends sooner than this after it started is opened again with backoff. */
const QUICK_END_MS = 1_000;

/** A change waiting to be applied, or the commit that closes its transaction (what may be acknowledged). */
type Item = { kind: 'change'; change: InboundChange; payload: unknown } | { kind: 'commit'; endLsn: Lsn };

/** What /health and /metrics show of a PostgreSQL direct source. */
export interface PostgresSourceDetails {
  slot: string;
  publication: string;
  /** The position acknowledged to the server (everything before it is in the projection). */
  acknowledged: string;
  /** The server's WAL end at the last message or keepalive. */
  serverWalEnd: string;
  /** Bytes of WAL between the acknowledged position and the server's end. */
  lagBytes: number;
  /** Seconds since the commit of the oldest change not yet applied (0 when caught up). */
  lagSeconds: number;
  /** Bytes of WAL the slot holds back on the server (from its restart_lsn), checked every status interval. */
  retainedWalBytes: number | null;
  connected: boolean;
}

/**
 * A system read straight from PostgreSQL's logical replication (`pgoutput`), on a named,
 * persistent slot and a publication of its table, both created on first start when the role may
 * (otherwise the start fails with the SQL to run).
 *
 * Acknowledgement: the server is told a position is flushed only once the ingest use case returned
 * for every change before it, and dead letters are stored: the end of the last whole transaction
 * applied. It never goes back. While caught up (nothing buffered, no transaction open) a keepalive's
 * WAL end is acknowledged too, so a slot whose tables are quiet does not hold back the WAL other
 * databases write. A restart streams again from the acknowledged position: changes after it are
 * applied again, which the projection ignores by position (nothing doubled, nothing lost).
 *
 * Positions are the change's own LSN, as Debezium's `source.lsn`, with the transaction's commit
 * time, so a system can move between Debezium and this source without applying anything twice.
 */
export class PostgresDirectSource implements ChangeTransport {
  readonly progress: ConsumerProgress;
  /** Changes applied (dead letters included), batches, retries: counted as the broker consumers count them. */
  readonly stats: ConsumerStats = { consumed: 0, deadLettered: 0, batches: 0, retries: 0 };
  private readonly system: SourceSystem;
  private readonly table: { schema: string; name: string };
  private readonly relations = new Map<number, Relation>();
  private queue: Item[] = [];
  private inTransaction: { commitTimeMs: number } | null = null;
  private acked: Lsn = 0n;
  private serverWalEnd: Lsn = 0n;
  private retainedWalBytes: number | null = null;
  private oldestWaitingMs: number | null = null;
  private conn: ReplicationConnection | null = null;
  private admin: ReplicationSlotAdmin | null = null;
  private stopping = false;
  private connected = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private walWarned = false;
  private paused = false;
  /** The walsender of the connection last taken for dead, ended before the next stream starts. */
  private deadPid: number | null = null;
  /** The stream ended because the publication is gone (see rebuildAfterLostPublication). */
  private publicationLost = false;
  /** When the current stream started, and the wait before opening one again after a stream that ended at once. */
  private streamingSince = 0;
  private quickEndDelayMs = 0;

  constructor(private readonly ctx: DirectSourceContext) {
    this.system = ctx.system;
    this.table = tableOf(ctx.system);
    this.progress = new ConsumerProgress(ctx.env.cdc.stallAfterMs);
  }

  /** Streaming: false while the replication connection is down (and being reconnected), so /health says so. */
  get running(): boolean {
    return this.loop !== null && !this.stopping && this.connected;
  }

  get names(): { slot: string; publication: string } {
    return { slot: this.admin?.slot ?? '', publication: this.admin?.publication ?? '' };
  }

  async start(): Promise<void> {
    const { env, url } = this.ctx;
    this.admin = await ReplicationSlotAdmin.open(url, this.system, env.directPg.slotPrefix, env.directPg.receiveTimeoutMs);
    try {
      await this.admin.checkWalLevel();
      if ((await this.admin.ensurePublication()) === 'created') this.ctx.logger.log(`systems.${this.system.name}: created publication ${this.admin.publication}`);
      let state = await this.admin.slotState();
      if (state.exists && (await this.admin.snapshotInterrupted())) {
        this.ctx.logger.warn(`systems.${this.system.name}: the first start's snapshot load was cut off; the slot is dropped and the snapshot loaded again`);
        await this.admin.dropSlot();
        state = await this.admin.slotState();
      }
      await this.connect(!state.exists);
    } catch (e) {
      if (e instanceof PostgresSourceError) this.ctx.logger.error(e.message);
      await this.admin.close().catch(() => undefined);
      this.admin = null;
      throw e;
    }
    this.statusTimer = setInterval(() => this.tick(), env.directPg.statusIntervalMs);
    this.statusTimer.unref();
    setSlotReading(this.system.name, () => this.report());
    this.loop = this.run();
  }

  /** Opens the replication connection (creating the slot first if asked) and starts streaming from the slot's position. */
  private async connect(createSlot: boolean): Promise<void> {
    const admin = this.admin!;
    const conn = new ReplicationConnection(this.ctx.url, `statusview-${this.system.name}`, this.ctx.env.directPg.receiveTimeoutMs);
    await conn.connect((e) => this.ctx.logger.warn(`systems.${this.system.name}: replication connection error: ${e.message}`));
    try {
      if (createSlot) await this.createSlotAndLoad(conn);
      this.relations.clear();
      this.inTransaction = null;
      const state = await admin.slotState();
      // The server takes any flushed position it is told, even an older one: start from the slot's.
      if (state.confirmedFlush !== null) this.acked = maxLsn(this.acked, state.confirmedFlush);
      this.conn = conn;
      await conn.start(
        admin.slot,
        admin.publication,
        0n,
        this.acked,
        (frame) => this.onFrame(frame),
        (e) => this.onStreamEnd(conn, e),
      );
    } catch (e) {
      if (this.conn === conn) this.conn = null;
      await conn.close(0).catch(() => undefined);
      const message = (e as Error).message ?? '';
      if (/can no longer get changes from replication slot|has been invalidated/i.test(message)) throw admin.invalidated(null);
      throw e;
    }
    this.connected = true;
    this.streamingSince = Date.now();
    this.ctx.logger.log(`systems.${this.system.name}: streaming ${this.system.table} from slot ${admin.slot} (publication ${admin.publication})`);
  }

  /**
   * First start: the slot, created with an exported snapshot, and the table loaded inside that
   * snapshot (see loadSnapshot) while the replication connection waits; it then streams from the
   * slot's consistent point. A load that fails drops the slot, so that the next start loads again.
   */
  private async createSlotAndLoad(conn: ReplicationConnection): Promise<void> {
    const admin = this.admin!;
    const marked = await admin.markSnapshot('loading');
    let created: { snapshot_name: string | null; consistent_point: string };
    try {
      [created] = await conn.command<{ snapshot_name: string | null; consistent_point: string }>(
        `CREATE_REPLICATION_SLOT ${quoteIdent(admin.slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
      );
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code === '42501' || code === '28000') throw admin.setupRequired(admin.slotSql(), e as Error);
      throw e;
    }
    this.ctx.logger.log(`systems.${this.system.name}: created replication slot ${admin.slot} (consistent point ${created.consistent_point}); loading ${this.system.table} in its snapshot`);
    try {
      const rows = await loadSnapshot(this.ctx, created.snapshot_name!, await admin.restartLsn(), () => !this.stopping);
      if (marked) await admin.markSnapshot('loaded');
      this.ctx.logger.log(`systems.${this.system.name}: loaded ${rows} rows of ${this.system.table} from the slot's snapshot; streaming from ${created.consistent_point}`);
    } catch (e) {
      await conn.close(0).catch(() => undefined);
      await admin.dropSlot().catch(() => undefined);
      throw e;
    }
  }

  private onStreamEnd(conn: ReplicationConnection, e: Error | null): void {
    if (this.conn !== conn) return;
    this.connected = false;
    this.conn = null;
    if (this.stopping) return;
    if (e && this.admin && e.message.includes(`publication "${this.admin.publication}" does not exist`)) this.publicationLost = true;
    // A stream the server ends as soon as it starts (an error at the same change each time) is opened again with backoff, not in a loop.
    const quick = Date.now() - this.streamingSince < QUICK_END_MS;
    this.quickEndDelayMs = quick ? Math.min(Math.max(100, this.quickEndDelayMs * 2), this.ctx.env.cdc.retryMaxMs) : 0;
    if (e) this.progress.failed(e.message);
    this.ctx.logger.warn(`systems.${this.system.name}: replication stream ended${e ? ` (${e.message})` : ''}; reconnecting${quick ? ` in ${this.quickEndDelayMs} ms` : ''}, changes after ${formatLsn(this.acked)} are read again`);
    void conn.close(0);
    this.kick();
  }

  private onFrame(frame: ReplicationFrame): void {
    if (frame.walEnd > this.serverWalEnd) this.serverWalEnd = frame.walEnd;
    if (frame.kind === 'keepalive') {
      // Caught up: nothing buffered or being applied, no transaction open. The WAL up to the
      // server's end holds nothing for this slot that is not in the projection.
      if (this.queue.length === 0 && this.inFlight === 0 && this.inTransaction === null && !this.givenUp) this.acknowledge(frame.walEnd);
      if (frame.replyRequested) this.conn?.sendStatus(this.acked);
      return;
    }
    let message: PgoutputMessage;
    try {
      message = parsePgoutput(frame.payload);
    } catch (e) {
      this.push(undecodable(frame.start, 'NOT_PGOUTPUT', (e as Error).message), { lsn: formatLsn(frame.start), bytes: frame.payload.toString('base64') });
      return;
    }
    this.onMessage(message, frame.start);
  }

  private onMessage(m: PgoutputMessage, lsn: Lsn): void {
    switch (m.tag) {
      case 'begin':
        this.inTransaction = { commitTimeMs: m.commitTimeMs };
        return;
      case 'commit':
        this.inTransaction = null;
        this.queue.push({ kind: 'commit', endLsn: m.endLsn });
        this.kick();
        return;
      case 'relation':
        this.relations.set(m.relation.id, m.relation);
        return;
      case 'insert':
        this.row(m.relationId, lsn, 'c', m.after, null);
        return;
      case 'update':
        this.row(m.relationId, lsn, 'u', m.after, m.before);
        return;
      case 'delete':
        this.row(m.relationId, lsn, 'd', m.before, null, m.keyOnly);
        return;
      case 'truncate':
        if (m.relationIds.some((id) => this.isOurs(this.relations.get(id)))) {
          this.push({ kind: 'event', event: this.ctx.events.truncate(this.system, this.position(lsn)), ref: `lsn ${formatLsn(lsn)}` }, { truncate: this.system.table });
        }
        return;
      case 'other':
        return;
    }
  }

  private isOurs(r: Relation | undefined): boolean {
    return r !== undefined && r.schema === this.table.schema && r.name === this.table.name;
  }

  private position(lsn: Lsn): SourcePosition {
    return positionOf({ lsn: lsn.toString(), ts_ms: this.inTransaction?.commitTimeMs ?? null }, null);
  }

  /** One row's change as a change event, or as undecodable with why (dead-lettered, the stream goes on). */
  private row(relationId: number, lsn: Lsn, op: 'c' | 'u' | 'd', tuple: TupleValue[], before: TupleValue[] | null, keyOnly = false): void {
    const ref = `lsn ${formatLsn(lsn)}`;
    const relation = this.relations.get(relationId);
    if (!relation) {
      this.push(undecodable(lsn, 'UNKNOWN_RELATION', `no relation message came for relation ${relationId} before its change`), { relationId, op });
      return;
    }
    if (!this.isOurs(relation)) return;
    const { raw, unchanged } = toRaw(relation, tuple, op === 'd' && keyOnly);
    const position = this.position(lsn);
    try {
      if (op === 'u' && before) {
        // The record key changed: as Debezium does, a delete of the old key, then the new row.
        const old = toRaw(relation, before, true).raw;
        const oldKey = this.ctx.events.changeOfRow(this.system, 'd', old, position);
        const next = this.event('c', raw, unchanged, position);
        if (oldKey.recordKey !== next.recordKey) {
          this.push({ kind: 'event', event: oldKey, ref }, old);
          this.push({ kind: 'event', event: next, ref }, raw);
          return;
        }
      }
      this.push({ kind: 'event', event: this.event(op, raw, unchanged, position), ref }, raw);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.push(undecodableChange(e, ref), raw);
    }
  }

  private event(op: 'c' | 'u' | 'd', raw: Record<string, unknown>, unchanged: string[], position: SourcePosition): ChangeEvent {
    const event = this.ctx.events.changeOfRow(this.system, op, raw, position);
    return unchanged.length > 0 ? { ...event, unchanged } : event;
  }

  private push(change: InboundChange, payload: unknown): void {
    if (this.oldestWaitingMs === null) this.oldestWaitingMs = this.inTransaction?.commitTimeMs ?? Date.now();
    this.queue.push({ kind: 'change', change, payload });
    this.progress.received();
    // Bounded: reading pauses while a few batches wait (the server keeps the rest).
    if (!this.paused && this.queue.length >= this.ctx.env.cdc.batchSize * 4) {
      this.paused = true;
      this.conn?.pause();
    }
    this.kick();
  }

  private kick(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Batches taken from the queue and not settled yet (applying, or applied and waiting for an earlier one). */
  private inFlight = 0;
  /** Of those, the ones with changes that are not applied yet: what CDC_CONCURRENCY bounds (a batch of commits only takes no slot). */
  private applyingBatches = 0;
  /** Settling (dead letters, acknowledgement) runs batch after batch in the order they were taken. */
  private settleTail: Promise<void> = Promise.resolve();
  /**
   * A batch was not settled (given up at shutdown, or an unexpected error): nothing after it is
   * acknowledged, not even a keepalive's WAL end, until the stream is opened again from the
   * acknowledged position.
   */
  private givenUp = false;

  /**
   * Applies batches, up to CDC_CONCURRENCY at once (Node decodes and maps one while PostgreSQL
   * commits another, and a batch held up by a lock does not hold up the next one), and settles
   * them in the order they were taken: a commit is acknowledged only once every change before it
   * is in the projection. Reconnects after a lost stream, once the batches in flight settled.
   */
  private async run(): Promise<void> {
    const { batchSize, lingerMs } = this.ctx.env.cdc;
    const concurrency = Math.max(1, this.ctx.env.cdc.concurrency);
    let idle = true;
    while (!this.stopping) {
      if (!this.conn && !this.connected) {
        await this.settleTail;
        if (this.stopping) break;
        await this.reconnect();
        continue;
      }
      if (this.queue.length === 0 || this.applyingBatches >= concurrency) {
        if (this.queue.length === 0 && this.inFlight === 0) idle = true;
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      // Linger a little for a fuller batch after an idle spell, unless one is full already. Changes
      // that came while a batch was being applied have waited for it: they go at once (as the
      // transports' batches do), so that under load a change waits for one batch, not a linger too.
      if (idle && lingerMs > 0 && this.countChanges() < batchSize) await new Promise((r) => setTimeout(r, lingerMs));
      idle = false;
      if (this.stopping || (!this.conn && !this.connected)) continue;
      this.takeBatch(batchSize);
    }
    await this.settleTail;
  }

  private countChanges(): number {
    let n = 0;
    for (const i of this.queue) if (i.kind === 'change') n++;
    return n;
  }

  /** Takes up to batchSize changes, and the commits right after them (their transactions are then whole), and starts applying them. */
  private takeBatch(batchSize: number): void {
    let take = 0;
    let changes = 0;
    while (take < this.queue.length && (changes < batchSize || this.queue[take].kind === 'commit')) {
      if (this.queue[take].kind === 'change') changes++;
      take++;
    }
    const items = this.queue.splice(0, take);
    const batch = items.flatMap((i) => (i.kind === 'change' ? [i] : []));
    let ack: Lsn = 0n;
    for (const i of items) if (i.kind === 'commit') ack = maxLsn(ack, i.endLsn);
    this.inFlight++;
    const applying = batch.length > 0;
    if (applying) this.applyingBatches++;
    const applied = this.applyChanges(batch).finally(() => {
      if (applying) this.applyingBatches--;
      this.kick();
    });
    this.resumeIfDrained();
    this.settleTail = this.settleTail
      .then(async () => this.settle(batch, ack, await applied))
      .catch((e: Error) => this.notSettled(batch, `settling a batch failed: ${e.message}`))
      .finally(() => {
        this.inFlight--;
        this.resumeIfDrained();
        this.kick();
      });
  }

  /** The sink's verdicts for a batch, retrying outages until it committed; null when it was not applied (stopping, or an unexpected error). Never rejects. */
  private async applyChanges(batch: Array<Extract<Item, { kind: 'change' }>>): Promise<MessageVerdict[] | null> {
    if (batch.length === 0) return [];
    try {
      return await retryUntilDone(() => this.ctx.sink.apply(batch.map((b) => b.change)), {
        maxDelayMs: this.ctx.env.cdc.retryMaxMs,
        keepGoing: () => !this.stopping,
        onRetry: (e, attempt, delay) => {
          this.stats.retries++;
          this.progress.failed(errorText(e));
          this.ctx.logger.warn(`systems.${this.system.name}: batch of ${batch.length} not committed (${errorText(e)}); retry ${attempt} in ${delay} ms`);
        },
      });
    } catch (e) {
      if (!this.stopping) this.ctx.logger.error(`systems.${this.system.name}: a batch of ${batch.length} failed (${errorText(e)})`);
      return null;
    }
  }

  /** After every batch taken before it: stores its dead letters, then acknowledges its commits. */
  private async settle(batch: Array<Extract<Item, { kind: 'change' }>>, ack: Lsn, verdicts: MessageVerdict[] | null): Promise<void> {
    if (verdicts === null || this.givenUp) return this.notSettled(batch, null);
    const dead: DeadLetterEntry[] = [];
    verdicts.forEach((v, i) => {
      if (v.kind !== 'dead-letter') return;
      const { change, payload } = batch[i];
      dead.push({ source: this.system.name, ref: change.ref, code: v.code, reason: v.reason, payload });
      this.ctx.logger.warn(`systems.${this.system.name}: dead-lettered the change at ${change.ref}: ${v.reason}`);
    });
    if (dead.length > 0) {
      try {
        await retryUntilDone(() => this.ctx.deadLetters.put(dead), {
          maxDelayMs: this.ctx.env.cdc.retryMaxMs,
          keepGoing: () => !this.stopping,
          onRetry: (e) => this.progress.failed(`storing dead letters: ${errorText(e)}`),
        });
      } catch (e) {
        return this.notSettled(batch, `storing dead letters failed: ${errorText(e)}`);
      }
    }
    this.progress.settled(batch.length);
    if (batch.length > 0) {
      this.stats.consumed += batch.length;
      this.stats.deadLettered += dead.length;
      this.stats.batches++;
    }
    this.acknowledge(ack);
    this.oldestWaitingMs = this.queue.length > 0 || this.inFlight > 1 ? Date.now() : null;
  }

  /**
   * A batch that was not settled: it and every batch after it stay unacknowledged, and are read
   * again from the acknowledged position, by the next start (stopping) or, after an unexpected
   * error (`why`), by opening the stream again now.
   */
  private notSettled(batch: readonly unknown[], why: string | null): void {
    this.progress.released(batch.length);
    if (this.givenUp) return;
    this.givenUp = true;
    if (this.stopping) {
      this.ctx.logger.warn(`systems.${this.system.name}: stopped with a batch of ${batch.length} not committed; it is read again on the next start`);
      return;
    }
    this.ctx.logger.error(`systems.${this.system.name}: ${why ?? 'a batch was not applied'}; the stream is opened again from ${formatLsn(this.acked)}`);
    this.conn?.destroy('a batch was not applied');
  }

  /** Reading paused while four batches waited goes on once less than one waits (the ones being applied are not counted). */
  private resumeIfDrained(): void {
    if (this.paused && this.queue.length < this.ctx.env.cdc.batchSize) {
      this.paused = false;
      this.conn?.resume();
    }
  }

  private acknowledge(lsn: Lsn): void {
    if (lsn <= this.acked) return;
    this.acked = lsn;
    this.conn?.sendStatus(this.acked);
  }

  private async reconnect(): Promise<void> {
    this.progress.released(this.countChanges());
    this.queue = [];
    // The new stream starts at the acknowledged position, before any batch given up.
    this.givenUp = false;
    this.oldestWaitingMs = null;
    if (this.paused) this.paused = false;
    if (this.quickEndDelayMs > 0) {
      // Woken by stop() (kick), so that a shutdown does not wait it out.
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, this.quickEndDelayMs).unref();
      });
    }
    if (this.stopping) return;
    await retryUntilDone(
      async () => {
        await this.reopenAdminIfDead();
        await this.connect((await this.rebuildAfterLostPublication()) || (await this.slotGone()));
      },
      {
      maxDelayMs: this.ctx.env.cdc.retryMaxMs,
      keepGoing: () => !this.stopping,
        onRetry: (e, attempt, delay) => {
          this.progress.failed((e as Error).message);
          const log = e instanceof PostgresSourceError ? this.ctx.logger.error : this.ctx.logger.warn;
          log.call(this.ctx.logger, `systems.${this.system.name}: reconnecting the replication stream failed (${(e as Error).message}); retry ${attempt} in ${delay} ms`);
        },
      },
    ).catch(() => undefined);
  }

  /**
   * Whether the slot was dropped while this source streamed from it (by an operator, or another
   * tool): then it is created again and the table loaded in its snapshot, as on a first start, so
   * the view ends equal to the table (the load deletes what the table no longer holds); the
   * changes made while there was no slot are not in the customers' history.
   */
  private async slotGone(): Promise<boolean> {
    if ((await this.admin!.slotState()).exists) return false;
    this.ctx.logger.error(
      `systems.${this.system.name}: replication slot ${this.admin!.slot} is gone (dropped while statusview streamed from it): creating it again and loading ` +
        `${this.system.table} in its snapshot; the view ends equal to the table, but the changes made while there was no slot are not in the history`,
    );
    // `direct-slot drop` drops the publication with the slot.
    if ((await this.admin!.ensurePublication()) === 'created') this.ctx.logger.log(`systems.${this.system.name}: created publication ${this.admin!.publication}`);
    return true;
  }

  /**
   * The publication was dropped while the slot streamed (or while the service was stopped):
   * pgoutput then fails at the slot's first change after the drop, every time, even once the
   * publication exists again (it reads the catalog as of that change). The slot cannot be used
   * again, so it is dropped, and the publication and the slot created anew and the table loaded
   * in the slot's snapshot, as when the slot is gone: the view ends equal to the table; the
   * changes made since the drop are not in the customers' history.
   */
  private async rebuildAfterLostPublication(): Promise<boolean> {
    if (!this.publicationLost) return false;
    const admin = this.admin!;
    this.ctx.logger.error(
      `systems.${this.system.name}: publication ${admin.publication} was dropped while slot ${admin.slot} streamed from it; the slot cannot decode past the drop. ` +
        `Dropping the slot, creating the publication and the slot again and loading ${this.system.table} in the new slot's snapshot; the view ends equal to the table, ` +
        `but the changes made since the drop are not in the history`,
    );
    await admin.dropSlot();
    if ((await admin.ensurePublication()) === 'created') this.ctx.logger.log(`systems.${this.system.name}: created publication ${admin.publication}`);
    this.publicationLost = false;
    return true;
  }

  /** The admin connection went down with the stream when the link did: a new one, before the stream is opened again. */
  private async reopenAdminIfDead(): Promise<void> {
    const admin = this.admin;
    if (!admin || !(await admin.alive())) {
      admin?.destroy();
      const { env, url } = this.ctx;
      this.admin = await ReplicationSlotAdmin.open(url, this.system, env.directPg.slotPrefix, env.directPg.receiveTimeoutMs);
    }
    // Only this source's own dead stream: another instance's active stream is never ended.
    const pid = this.deadPid;
    if (pid !== null && (await this.admin!.endStaleStream(pid))) {
      this.ctx.logger.warn(`systems.${this.system.name}: ended the server side (walsender ${pid}) of the connection taken for dead, which still held slot ${this.admin!.slot}`);
    }
    this.deadPid = null;
  }

  /**
   * Every status interval: a status update that asks the server to answer (the server's
   * wal_sender_timeout; and a heartbeat: a live server answers each one with a keepalive), and
   * the WAL the slot holds back. A stream silent for DIRECT_PG_RECEIVE_TIMEOUT_MS although it is
   * read (not paused) is a dead link that TCP would notice only after many minutes: it is closed,
   * and the stream opened again from the acknowledged position.
   */
  private tick(): void {
    const conn = this.conn;
    if (conn && this.connected && !this.paused && conn.silentForMs > this.ctx.env.directPg.receiveTimeoutMs) {
      this.ctx.logger.warn(
        `systems.${this.system.name}: nothing from the server for ${conn.silentForMs} ms although a reply was asked every ${this.ctx.env.directPg.statusIntervalMs} ms ` +
          `(DIRECT_PG_RECEIVE_TIMEOUT_MS ${this.ctx.env.directPg.receiveTimeoutMs}): the connection is taken for dead`,
      );
      this.deadPid = conn.backendPid;
      conn.destroy('the server stopped answering');
      return;
    }
    conn?.sendStatus(this.acked, true);
    const admin = this.admin;
    if (!admin) return;
    admin
      .lag()
      .then((lag) => {
        this.retainedWalBytes = lag?.retainedBytes ?? null;
        const limit = this.ctx.env.directPg.walWarnBytes;
        if (lag && lag.retainedBytes > limit && !this.walWarned) {
          this.walWarned = true;
          this.ctx.logger.warn(
            `systems.${this.system.name}: replication slot ${admin.slot} holds back ${lag.retainedBytes} bytes of WAL, more than DIRECT_PG_WAL_WARN_BYTES (${limit}); ` +
              `the projection is behind or the stream is down (see /health)`,
          );
        } else if (lag && lag.retainedBytes <= limit) this.walWarned = false;
      })
      .catch((e: Error) => this.ctx.logger.warn(`systems.${this.system.name}: reading the slot's lag failed: ${e.message}`));
  }

  details(): Record<string, unknown> {
    return { ...this.report() };
  }

  report(): PostgresSourceDetails {
    return {
      slot: this.names.slot,
      publication: this.names.publication,
      acknowledged: formatLsn(this.acked),
      serverWalEnd: formatLsn(this.serverWalEnd),
      lagBytes: Number(this.serverWalEnd > this.acked ? this.serverWalEnd - this.acked : 0n),
      lagSeconds: this.oldestWaitingMs === null ? 0 : Math.max(0, Date.now() - this.oldestWaitingMs) / 1000,
      retainedWalBytes: this.retainedWalBytes,
      connected: this.connected,
    };
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    setSlotReading(this.system.name, null);
    this.kick();
    // The batch in flight finishes (its retries end once stopping), then the last acknowledged position is flushed.
    await this.loop?.catch(() => undefined);
    this.loop = null;
    const conn = this.conn;
    this.conn = null;
    this.connected = false;
    if (conn) {
      conn.sendStatus(this.acked);
      await conn.close();
    }
    await this.admin?.close().catch(() => undefined);
    this.admin = null;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function undecodable(lsn: Lsn, code: string, reason: string): InboundChange {
  return { kind: 'undecodable', code, reason, ref: `lsn ${formatLsn(lsn)}` };
}

/**
 * A tuple as the JSON row Debezium would send: values decoded by type; an unchanged TOASTed value
 * left out (and named, so that the stored value is kept); `keyOnly` (a delete under the default
 * replica identity): only the key columns, as Debezium's `before`.
 */
function toRaw(relation: Relation, tuple: TupleValue[], keyOnly: boolean): { raw: Record<string, unknown>; unchanged: string[] } {
  const raw: Record<string, unknown> = {};
  const unchanged: string[] = [];
  relation.columns.forEach((col, i) => {
    if (keyOnly && !col.key) return;
    const v = tuple[i];
    if (v === UNCHANGED) unchanged.push(col.name);
    else raw[col.name] = v === null || v === undefined ? null : decodePgValue(v, col.typeOid, col.typmod);
  });
  return { raw, unchanged };
}

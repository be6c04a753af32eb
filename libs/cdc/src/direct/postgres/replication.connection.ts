import { Duplex } from 'node:stream';
import { Client, ClientConfig } from 'pg';
import * as copyStreams from 'pg-copy-streams';
import { formatLsn, Lsn } from './lsn';
import { pgTimeToMs } from './pgoutput.parser';

/** What the server sends inside the replication stream's CopyData frames. */
export type ReplicationFrame =
  /** XLogData: `start` is the WAL position of this message (a change's own LSN), `payload` a pgoutput message. */
  | { kind: 'xlog'; start: Lsn; walEnd: Lsn; payload: Buffer }
  /** Primary keepalive: how far the server's WAL goes, and whether it wants a status update now. */
  | { kind: 'keepalive'; walEnd: Lsn; serverTimeMs: number; replyRequested: boolean };

const PG_EPOCH_MICROS = 946_684_800_000_000n;

/** pg-copy-streams' copy-both stream (its type definitions leave it out). */
const both = (copyStreams as unknown as { both: (sql: string, options: { alignOnCopyDataFrame: boolean }) => Duplex }).both;

/**
 * A replication connection (`replication=database`) to a legacy database: the protocol's
 * commands as simple queries, and START_REPLICATION's copy-both stream read frame by frame
 * (pg-copy-streams aligns chunks on CopyData frames) with standby status updates written back.
 * Runs with TimeZone=UTC and DateStyle=ISO, which the value decoder reads.
 */
export class ReplicationConnection {
  private readonly client: Client;
  private stream: Duplex | null = null;
  private lastReceivedAt = Date.now();
  /** The walsender serving this connection on the server. */
  backendPid: number | null = null;

  /** `timeoutMs`: how long a connect may take (a host that drops packets answers nothing). */
  constructor(url: string, applicationName: string, timeoutMs?: number) {
    const config: ClientConfig & { replication: string } = {
      connectionString: url,
      replication: 'database',
      application_name: applicationName,
      options: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3 -c IntervalStyle=iso_8601',
      connectionTimeoutMillis: timeoutMs,
    };
    this.client = new Client(config);
  }

  /** How long the stream has brought nothing (no change, no keepalive). */
  get silentForMs(): number {
    return Date.now() - this.lastReceivedAt;
  }

  /** Ends the stream and the socket at once, without waiting for a server that does not answer. */
  destroy(reason: string): void {
    this.stream?.destroy(new Error(reason));
    destroySocket(this.client);
  }

  async connect(onError: (e: Error) => void): Promise<void> {
    this.client.on('error', onError);
    await this.client.connect();
    const { rows } = await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    this.backendPid = rows[0]?.pid ?? null;
  }

  /** A replication command (IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT…): its rows. */
  async command<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
    return (await this.client.query<T>(sql)).rows;
  }

  /**
   * Starts streaming the slot from `from` (0: where the slot's confirmed position is); resolves once
   * the server streams (a first status update, reporting `flushed`, went through), rejects with
   * the server's error otherwise. Frames go to `onFrame` in order; `onEnd` runs once, after the
   * start, with the error if the stream failed.
   */
  start(slot: string, publication: string, from: Lsn, flushed: Lsn, onFrame: (f: ReplicationFrame) => void, onEnd: (e: Error | null) => void): Promise<void> {
    const sql = `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(from)} (proto_version '1', publication_names ${quoteLiteral(quoteIdent(publication))})`;
    const stream = this.client.query(both(sql, { alignOnCopyDataFrame: true }) as never) as unknown as Duplex;
    this.stream = stream;
    this.lastReceivedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let started = false;
      let ended = false;
      const end = (e: Error | null) => {
        if (ended) return;
        ended = true;
        this.stream = null;
        if (started) onEnd(e);
        else reject(e ?? new Error('the replication stream ended before it started'));
      };
      stream.on('data', (chunk: Buffer) => {
        this.lastReceivedAt = Date.now();
        try {
          onFrame(readFrame(chunk));
        } catch (e) {
          stream.destroy(e as Error);
        }
      });
      stream.on('error', (e: Error) => end(e));
      stream.on('end', () => end(null));
      stream.on('close', () => end(null));
      // pg-copy-streams holds writes until the server's CopyBothResponse: this callback means streaming.
      stream.write(statusMessage(flushed, false), (e?: Error | null) => {
        if (e || ended) return;
        started = true;
        resolve();
      });
    });
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  /** A standby status update: written, flushed and applied all up to `flushed` (all three mean "in the projection" here). */
  sendStatus(flushed: Lsn, replyRequested = false): void {
    const stream = this.stream;
    if (!stream || stream.destroyed || stream.writableEnded) return;
    stream.write(statusMessage(flushed, replyRequested));
  }

  /** Ends the copy (CopyDone), waiting at most `timeoutMs` for the server to end it too, then closes. */
  async close(timeoutMs = 2000): Promise<void> {
    const stream = this.stream;
    if (stream && !stream.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        stream.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        stream.once('end', () => {
          clearTimeout(timer);
          resolve();
        });
        stream.end();
        stream.resume();
      });
    }
    await this.client.end().catch(() => undefined);
  }
}

/** Closes a pg client's socket now (node-postgres keeps it as `connection.stream`); end() would wait for the server. */
export function destroySocket(client: Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** Standby status update: written, flushed and applied all `flushed` (0 = nothing to report, ignored by the server). */
function statusMessage(flushed: Lsn, replyRequested: boolean): Buffer {
  const msg = Buffer.alloc(34);
  msg.write('r', 0);
  msg.writeBigUInt64BE(flushed, 1);
  msg.writeBigUInt64BE(flushed, 9);
  msg.writeBigUInt64BE(flushed, 17);
  msg.writeBigUInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_MICROS, 25);
  msg.writeUInt8(replyRequested ? 1 : 0, 33);
  return msg;
}

function readFrame(chunk: Buffer): ReplicationFrame {
  const type = String.fromCharCode(chunk[0]);
  if (type === 'w') {
    return { kind: 'xlog', start: chunk.readBigUInt64BE(1), walEnd: chunk.readBigUInt64BE(9), payload: chunk.subarray(25) };
  }
  if (type === 'k') {
    return { kind: 'keepalive', walEnd: chunk.readBigUInt64BE(1), serverTimeMs: pgTimeToMs(chunk.readBigUInt64BE(9)), replyRequested: chunk[17] === 1 };
  }
  throw new Error(`unknown replication frame "${type}"`);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

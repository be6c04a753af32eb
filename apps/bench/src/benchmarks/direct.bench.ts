import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { BENCH_NAMES, postgresUrl, benchQueue } from '../bench.env';
import { BenchContext, BenchOutcome, ratio } from '../bench.model';
import { dropPostgresDatabase, LegacyDatabases } from '../data/legacy.seeder';
import { ABSENT, CRM_VARIANTS, customerId, ReferenceCustomers } from '../data/reference-data';
import { CpuMonitor, CpuShares } from '../infra/cpu.monitor';
import { clearRedisPrefix, deleteQueues, freshQueues } from '../infra/servers';
import { percentile } from '../load/http.load';
import { ACTIVE, probeStatusChanges } from '../load/status.probes';
import { AppWorkerInfo, ConsumedTimeline } from '../workers/app.worker';
import { WorkerHandle } from '../workers/worker.host';
import { steadyRate } from './ingest.bench';

export interface DirectSize {
  /** Customers seeded in the view and in the legacy crm table (crm holds ~90% of them). */
  customers: number;
  /** Changes written for the throughput figure, in transactions of `transactionSize`. */
  changes: number;
  transactionSize: number;
  /** Seconds of probes at half the measured rate. */
  lagDurationS: number;
  probeCustomers: number;
}

const QUEUE = benchQueue('bench.direct.app');
const SYSTEM = 'crm';
const PROBE_BASE = 900_000;
const STATUS_QUERY = 'query($id: ID!) { customer(id: $id) { status } }';
/** The crm statuses the rules map (LEAD is left out: it is reported as unmapped). */
const MAPPED = CRM_VARIANTS.slice(0, 4).map((v) => v.status);

/** A batch of row changes for one legacy transaction: inserts of new customers, status updates, deletes. */
interface ChangeBatch {
  inserts: { ids: number[]; statuses: string[] };
  updates: { ids: number[]; statuses: string[] };
  deletes: number[];
  count: number;
}

/**
 * The changes written into the legacy crm table, deterministic: of every 20, two inserts of new
 * customers, one delete of a customer inserted before, 17 status updates of seeded rows (85%,
 * 10%, 5%, as the ingest benchmark's event mix). Each is one row change, so one change event; an
 * update's id recurs only after every seeded row was updated once, so a batch changes a row once.
 */
export class CrmChangeStream {
  private k = 0;
  private updated = 0;
  private inserted = 0;
  private deleted = 0;

  constructor(
    private readonly updatable: readonly number[],
    private readonly newBase: number,
  ) {
    if (updatable.length === 0) throw new Error('no crm rows to update');
  }

  next(count: number): ChangeBatch {
    const b: ChangeBatch = { inserts: { ids: [], statuses: [] }, updates: { ids: [], statuses: [] }, deletes: [], count };
    const len = this.updatable.length;
    for (let n = 0; n < count; n++, this.k++) {
      const r = this.k % 20;
      if (r === 0 || r === 10) {
        const id = this.newBase + this.inserted++;
        b.inserts.ids.push(id);
        b.inserts.statuses.push(MAPPED[id % MAPPED.length]);
      } else if (r === 5) {
        // Inserted at r === 0 of this block or earlier: the insert statement runs first in the transaction.
        b.deletes.push(this.newBase + 2 * this.deleted++);
      } else {
        const u = this.updated++;
        const id = this.updatable[(u * 7919) % len];
        b.updates.ids.push(id);
        // One status further than the row's last update: every update changes the status.
        b.updates.statuses.push(MAPPED[(Math.floor(u / len) + id) % MAPPED.length]);
      }
    }
    return b;
  }
}

const INSERT_SQL = `INSERT INTO crm.customers (id, customer_no, email, status, updated_at)
SELECT t.i, 'C-' || lpad(t.i::text, 7, '0'), 'c' || t.i || '@example.com', t.s, now() FROM unnest($1::int[], $2::text[]) AS t(i, s)`;
const UPDATE_SQL = `UPDATE crm.customers c SET status = t.s, updated_at = now() FROM unnest($1::int[], $2::text[]) AS t(i, s) WHERE c.id = t.i`;
const DELETE_SQL = `DELETE FROM crm.customers WHERE id = ANY($1::int[])`;

/** One legacy transaction with the batch's row changes; checks that each touched one row. */
async function writeBatch(client: Client, b: ChangeBatch): Promise<void> {
  await client.query('BEGIN');
  try {
    let rows = 0;
    if (b.inserts.ids.length) rows += (await client.query(INSERT_SQL, [b.inserts.ids, b.inserts.statuses])).rowCount ?? 0;
    if (b.updates.ids.length) rows += (await client.query(UPDATE_SQL, [b.updates.ids, b.updates.statuses])).rowCount ?? 0;
    if (b.deletes.length) rows += (await client.query(DELETE_SQL, [b.deletes])).rowCount ?? 0;
    if (rows !== b.count) throw new Error(`a legacy transaction changed ${rows} rows, expected ${b.count}`);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** The PostgreSQL client binaries' pg_recvlogical of the server's major version (Debian keeps them per version), else the newest, else PATH's. */
function recvlogicalBinary(serverMajor: number): string {
  const root = '/usr/lib/postgresql';
  const own = join(root, String(serverMajor), 'bin/pg_recvlogical');
  if (existsSync(own)) return own;
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/pg_recvlogical'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin/pg_recvlogical') : 'pg_recvlogical';
}

/** Runs pg_recvlogical on `slot` until `endLsn`, output to /dev/null; resolves with the wall time in ms. */
function recvlogical(bin: string, url: string, slot: string, publication: string, endLsn: string): Promise<number> {
  const started = performance.now();
  const args = ['-d', url, '-S', slot, '--start', '--no-loop', '-f', '/dev/null', '-o', 'proto_version=1', '-o', `publication_names=${publication}`, `--endpos=${endLsn}`];
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`pg_recvlogical exited ${code}: ${stderr.trim()}`))));
  });
}

/**
 * 6. The direct CDC from PostgreSQL (issue 14): change events per second from a logical
 * replication slot into the projection, against `pg_recvlogical` reading the same WAL range of a
 * slot of its own (pgoutput, to /dev/null) in the same run; then, with changes written at half
 * the measured rate, the time from a legacy row's update to its status through GraphQL.
 */
export async function directBench(ctx: BenchContext, size: DirectSize): Promise<BenchOutcome> {
  const { urls } = ctx;
  const profileDir = ctx.profileDir && join(ctx.profileDir, 'direct');
  const names = BENCH_NAMES.direct;
  const legacyUrl = postgresUrl(urls, names.crm);
  const slot = `${names.slotPrefix}_${SYSTEM}`;
  const publication = slot;
  const customers = new ReferenceCustomers(size.customers);
  const stream = new CrmChangeStream(customers.present('crm').ids, size.customers + 1);
  const appArgs = {
    parts: { api: true, ingest: true },
    env: { AMQP_QUEUE: QUEUE, CDC_DIRECT_SYSTEMS: SYSTEM, DIRECT_PG_SLOT_PREFIX: names.slotPrefix },
    processEnv: { LEGACY_CRM_URL: legacyUrl },
  };

  ctx.log(`direct: seeding ${size.customers.toLocaleString('en')} customers (view and legacy crm table ${names.crm})`);
  await new LegacyDatabases(urls).seedCrm(customers, names.crm);
  await ctx.view.reset();
  await ctx.view.seed(customers, ctx.mappings);
  // The view starts again at version 1: a cached view of an earlier part (freshness's probe
  // customers are the same ids) has a higher version, and the cache would keep it.
  await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix);
  await freshQueues(urls.amqp, BENCH_NAMES.exchange, [QUEUE]);
  const legacy = new Client({ connectionString: legacyUrl, application_name: 'bench-direct-writer' });
  await legacy.connect();
  let app: WorkerHandle<AppWorkerInfo> | undefined;
  try {
    const lsn = async (sql: string, params: unknown[] = []) => (await legacy.query<{ lsn: string }>(sql, params)).rows[0]?.lsn ?? '';
    const confirmed = (s: string) => lsn('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [s]);
    const serverMajor = Number((await legacy.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v.slice(0, -4));
    const bin = recvlogicalBinary(serverMajor);
    const binVersion = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();

    // The publication and both slots, before any write: the reference's first, so that it can be
    // moved to exactly where the service's stands (a slot cannot be moved back).
    await legacy.query(`CREATE PUBLICATION ${publication} FOR TABLE crm.customers`);
    await legacy.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.referenceSlot]);
    await legacy.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);

    // The service starts on its slot (no snapshot: the slot exists and the view holds the table) and catches up.
    ctx.log('direct: the service (npm start, CDC_DIRECT_SYSTEMS=crm) catching up on its slot');
    app = await WorkerHandle.start<AppWorkerInfo>('app', appArgs);
    const caughtUpTo = await lsn('SELECT pg_current_wal_lsn()::text AS lsn');
    const caughtUp = await waitForLsn(() => confirmed(slot), caughtUpTo, 30_000);
    await app.stop();
    app = undefined;
    const startLsn = await confirmed(slot);
    await legacy.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [names.referenceSlot, startLsn]);
    if ((await confirmed(names.referenceSlot)) !== startLsn) throw new Error(`the reference slot is not at ${startLsn}`);

    // The changes, as fast as one connection writes them, in transactions of transactionSize.
    ctx.log(`direct: writing ${size.changes.toLocaleString('en')} changes in transactions of ${size.transactionSize.toLocaleString('en')} (service stopped)`);
    const writeStarted = performance.now();
    for (let done = 0; done < size.changes; done += size.transactionSize) await writeBatch(legacy, stream.next(Math.min(size.transactionSize, size.changes - done)));
    const writeMs = performance.now() - writeStarted;
    const endLsn = await lsn('SELECT pg_current_wal_lsn()::text AS lsn');
    const walBytes = Number(await lsn('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS lsn', [endLsn, startLsn]));

    ctx.log(`direct: pg_recvlogical from ${startLsn} to ${endLsn} (${(walBytes / 1e6).toFixed(0)} MB of WAL)`);
    const loadBefore = loadavg()[0];
    let cpu = new CpuMonitor();
    cpu.start();
    const refMs = await recvlogical(bin, legacyUrl, names.referenceSlot, publication, endLsn);
    const refCpu = cpu.stop();
    const refRate = (size.changes / refMs) * 1000;

    ctx.log('direct: the service reading the same range');
    cpu = new CpuMonitor();
    cpu.start();
    const appStarted = performance.now();
    app = await WorkerHandle.start<AppWorkerInfo>('app', appArgs, { profileDir: profileDir && join(profileDir, 'throughput') });
    const walsender = (await legacy.query<{ pid: number | null }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.pid;
    if (walsender) cpu.adopt(walsender);
    const timeline = await app.request<ConsumedTimeline>('watchConsumed', { target: size.changes, timeoutMs: 900_000, transport: `direct:${SYSTEM}` }, 960_000);
    const appWallMs = performance.now() - appStarted;
    const appCpu = cpu.stop();
    if (timeline.consumed !== size.changes || timeline.deadLettered !== 0) {
      throw new Error(`the service applied ${timeline.consumed} changes (expected ${size.changes}), ${timeline.deadLettered} dead-lettered (expected 0)`);
    }
    const appRate = steadyRate(timeline);
    const r = ratio(appRate, refRate);
    // A process of its own for the lag (its profile apart from the throughput's).
    await app.stop();
    app = await WorkerHandle.start<AppWorkerInfo>('app', appArgs, { profileDir: profileDir && join(profileDir, 'lag') });
    // Steady state: the status changes of the throughput phase that its process had not relayed
    // when it stopped are relayed first (the outbox drained), so that the lag is not measured
    // while a backlog of the earlier phase competes for the machine.
    const outboxAtStart = await ctx.view.outboxBacklog();
    const drainStarted = performance.now();
    while ((await ctx.view.outboxBacklog()) > 0 && performance.now() - drainStarted < 120_000) await sleep(100);
    const outboxDrainMs = performance.now() - drainStarted;
    ctx.log(`direct: ${outboxAtStart.toLocaleString('en')} status changes of the throughput phase left in the outbox, relayed in ${Math.round(outboxDrainMs)} ms before the lag phase`);

    // Lag: background changes at half the measured rate, paced every 10 ms in small transactions,
    // and probes one at a time: a probe customer's crm status updated, then polled through GraphQL.
    const rate = appRate / 2;
    ctx.log(`direct: lag with changes at ${Math.round(rate).toLocaleString('en')}/s (half the measured rate) for ${size.lagDurationS} s`);
    const lag = await measureLag(ctx, app, legacy, legacyUrl, stream, rate, size);
    const finalStats = await app.request<{ consumed: number; deadLettered: number }>('stats', { transport: `direct:${SYSTEM}` });
    const expected = lag.changes;
    const backlog = expected - finalStats.consumed;

    // When the ingest benchmark ran before in this invocation: the projection path alone, what any source is bounded by.
    const memoryRate = (ctx.earlier.ingest?.data as { memory?: { rate?: number } } | undefined)?.memory?.rate;
    const n = size.changes.toLocaleString('en');
    const share = (c: CpuShares | null) => (c ? `this benchmark ${c.bench.toFixed(0)}%, shared servers ${c.servers.toFixed(0)}%, other work ${c.other.toFixed(0)}%` : 'not measured');
    return {
      figures: [
        {
          bench: 'direct',
          name: `direct CDC: crm slot → PostgreSQL + Redis (${n} changes in transactions of ${size.transactionSize.toLocaleString('en')})`,
          value: { value: appRate, unit: 'events/s' },
          reference: { name: 'pg_recvlogical, pgoutput to /dev/null, the same WAL range', value: refRate, unit: 'events/s' },
          ratio: r,
          aim: { text: '≥ 0.5× pg_recvlogical', met: r >= 0.5 },
        },
        ...(memoryRate
          ? [
              {
                bench: 'direct' as const,
                name: 'direct CDC (above) against the projection path alone',
                value: { value: appRate, unit: 'events/s' },
                reference: { name: 'the projection path from memory, no transport (ingest benchmark of this run, its event mix)', value: memoryRate, unit: 'events/s' },
                ratio: ratio(appRate, memoryRate),
              },
            ]
          : []),
        {
          bench: 'direct',
          name: `legacy UPDATE → visible through GraphQL, p50 (${lag.latencies.length} probes, ${lag.timeouts} timed out)`,
          value: { value: lag.p50, unit: 'ms' },
        },
        {
          bench: 'direct',
          name: `legacy UPDATE → visible through GraphQL, p99, changes at ${Math.round(lag.achieved).toLocaleString('en')}/s`,
          value: { value: lag.p99, unit: 'ms' },
          aim: { text: '< 100 ms at half the measured rate', met: lag.p99 < 100 && lag.timeouts === 0 },
        },
      ],
      notes: [
        `Direct CDC: ${size.customers.toLocaleString('en')} customers seeded in the view and in a legacy crm table of its own (${names.crm}); the service's slot and publication created before the writes ` +
          `(no snapshot load), the service started on it (api and ingest in one process, CDC_DIRECT_SYSTEMS=crm, service defaults: batch 500, linger 10 ms)${caughtUp ? ', caught up' : ' (not caught up within 30 s)'} and stopped; ` +
          `a second slot for the reference moved to the same position. Then ${n} row changes (85% status updates, 10% inserts of new customers, 5% deletes) written by one connection in transactions of ` +
          `${size.transactionSize.toLocaleString('en')} (${((size.changes / writeMs) * 1000).toLocaleString('en', { maximumFractionDigits: 0 })} rows/s, ${(walBytes / 1e6).toFixed(0)} MB of WAL on the shared server, other databases' included), ` +
          `then each slot read over the same range, one after the other: ${binVersion} (\`-o proto_version=1 -o publication_names=…\`, to /dev/null, \`--endpos\` at the WAL position after the last commit, timed from spawn to exit: ${(refMs / 1000).toFixed(2)} s), ` +
          `and the service (steady state, from its first applied batch to the last change, as ingest: ${(((timeline.doneAt - timeline.firstAt) / 1000)).toFixed(1)} s; ${(appWallMs / 1000).toFixed(1)} s from the process's start).`,
        `Direct CDC lag (the service started again on its slot; the ${outboxAtStart.toLocaleString('en')} status changes the throughput phase left in the outbox relayed first, in ${Math.round(outboxDrainMs)} ms): changes at half the service's measured rate (target ${Math.round(rate).toLocaleString('en')}/s, achieved ${Math.round(lag.achieved).toLocaleString('en')}/s), written every 10 ms in one transaction each; ` +
          `${size.lagDurationS} s of probes, one at a time: a single-row UPDATE of one of ${size.probeCustomers} probe customers' crm status, timed from sending it (its commit included) until \`customer(id) { status }\` shows it, polled every ~2 ms; ` +
          `${backlog.toLocaleString('en')} changes not yet applied at the end.`,
        `CPU while the service read (${appCpu?.seconds.toFixed(0) ?? '?'} s, shares of all cores, its walsender counted as this benchmark's): ${share(appCpu)}; ` +
          `load average before the reads ${loadBefore.toFixed(1)} (pg_recvlogical's ${(refMs / 1000).toFixed(1)} s are too short for the 1 s CPU samples).`,
      ],
      data: {
        size,
        startLsn,
        endLsn,
        walBytes,
        writeMs,
        reference: { binary: bin, version: binVersion, ms: refMs, rate: refRate, cpu: refCpu, loadBefore },
        app: { rate: appRate, wallMs: appWallMs, cpu: appCpu, ...timeline },
        ratio: r,
        lag: { outboxAtStart, outboxDrainMs, targetRate: rate, achieved: lag.achieved, probes: lag.latencies.length, timeouts: lag.timeouts, p50: lag.p50, p90: lag.p90, p99: lag.p99, max: lag.max, changes: lag.changes, backlog },
      },
    };
  } finally {
    await app?.stop().catch(() => undefined);
    await legacy.end().catch(() => undefined);
    // Slots first, then the database, whatever happened above: a slot left behind pins the shared server's WAL.
    const admin = new Client({ connectionString: urls.postgresAdmin });
    await admin.connect();
    try {
      await dropPostgresDatabase(admin, names.crm);
    } catch (e) {
      ctx.log(`direct: could not drop ${names.crm} and its slots: ${(e as Error).message}`);
    } finally {
      await admin.end();
    }
    await deleteQueues(urls.amqp, [QUEUE]).catch(() => undefined);
  }
}

interface LagResult {
  latencies: number[];
  timeouts: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  achieved: number;
  /** Row changes written in this phase (background and probes). */
  changes: number;
}

async function measureLag(ctx: BenchContext, app: WorkerHandle<AppWorkerInfo>, legacy: Client, legacyUrl: string, stream: CrmChangeStream, rate: number, size: DirectSize): Promise<LagResult> {
  const statusOf = (variant: number) => ctx.mappings.statusOf(variant, ABSENT, ABSENT);
  const status = async (id: string): Promise<string | null> => {
    const res = await fetch(`${app.info.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: STATUS_QUERY, variables: { id } }),
    });
    const body = (await res.json()) as { data?: { customer: { status: string } | null } };
    lastBody = body;
    return body.data?.customer?.status ?? null;
  };
  let lastBody: unknown = null;
  const probeWriter = new Client({ connectionString: legacyUrl, application_name: 'bench-direct-probe' });
  await probeWriter.connect();
  let changes = 0;
  try {
    // The probe customers exist before the clock starts.
    const probes = Array.from({ length: size.probeCustomers }, (_, k) => PROBE_BASE + 1 + k);
    await probeWriter.query(INSERT_SQL, [probes, probes.map(() => CRM_VARIANTS[ACTIVE].status)]);
    changes += probes.length;
    const deadline = Date.now() + 60_000;
    for (let waiting = [...probes]; waiting.length > 0; ) {
      const seen = await Promise.all(waiting.map(async (i) => (await status(customerId(i))) === statusOf(ACTIVE)));
      waiting = waiting.filter((_, k) => !seen[k]);
      if (waiting.length > 0 && Date.now() > deadline) {
        throw new Error(`${waiting.length} probe customers (${customerId(waiting[0])}…) not shown as ${statusOf(ACTIVE)} within 60 s; last answer ${JSON.stringify(lastBody).slice(0, 300)}`);
      }
      if (waiting.length > 0) await sleep(20);
    }

    // Background: `rate` changes per second, one transaction every 10 ms.
    let sent = 0;
    let stopping = false;
    const started = performance.now();
    const background = (async () => {
      while (!stopping) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        if (due > sent) {
          const n = due - sent;
          await writeBatch(legacy, stream.next(n));
          sent += n;
        }
        await sleep(10);
      }
    })();

    await sleep(2000);
    const update = async (i: number, next: number) => {
      await probeWriter.query('UPDATE crm.customers SET status = $1, updated_at = now() WHERE id = $2', [CRM_VARIANTS[next].status, i]);
    };
    const { latencies, timeouts, changes: probed } = await probeStatusChanges({ probes, durationS: size.lagDurationS, statusOf, status, change: update });
    stopping = true;
    await background;
    const elapsedS = (performance.now() - started) / 1000;
    changes += probed + sent;
    // Let the service finish what was written, so that the backlog at the end is what it could not keep up with.
    await sleep(1000);
    const sorted = Float64Array.from(latencies).sort();
    return {
      latencies,
      timeouts,
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: sorted.length ? sorted[sorted.length - 1] : NaN,
      achieved: sent / elapsedS,
      changes,
    };
  } finally {
    await probeWriter.end().catch(() => undefined);
  }
}

/** Polls `read` until the LSN it returns reaches `target` (compared by pg_lsn order); false at the timeout. */
async function waitForLsn(read: () => Promise<string>, target: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const value = (l: string) => {
    const [hi, lo] = l.split('/');
    return (BigInt(`0x${hi || '0'}`) << 32n) | BigInt(`0x${lo || '0'}`);
  };
  while (Date.now() < deadline) {
    const at = await read();
    if (at && value(at) >= value(target)) return true;
    await sleep(50);
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

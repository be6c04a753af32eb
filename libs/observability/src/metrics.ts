import { Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * Every Prometheus metric of the service, defined in this one place (default registry, served at
 * /metrics). Values that live in PostgreSQL (outbox backlog, unmapped values) are read at scrape
 * time through `setScrapeSource`.
 */
const existing = <T>(name: string): T | undefined => register.getSingleMetric(name) as T | undefined;

function counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
  return existing<Counter<string>>(name) ?? new Counter({ name, help, labelNames });
}
function histogram(name: string, help: string, labelNames: string[], buckets: number[]): Histogram<string> {
  return existing<Histogram<string>>(name) ?? new Histogram({ name, help, labelNames, buckets });
}
function gauge(name: string, help: string, labelNames: string[] = [], collect?: (this: Gauge<string>) => Promise<void>): Gauge<string> {
  return existing<Gauge<string>>(name) ?? new Gauge({ name, help, labelNames, ...(collect ? { collect } : {}) });
}

export const eventsConsumed = counter('statusview_events_consumed_total', 'Change events decoded and applied, by system and op', ['system', 'op']);
export const messagesSkipped = counter('statusview_messages_skipped_total', 'Messages skipped: tombstone, heartbeat, schema-change, transaction', ['reason']);
export const eventsStale = counter('statusview_events_stale_total', 'Events older than or equal to the stored state (duplicates, late events): nothing changed');
export const deadLettered = counter('statusview_messages_dead_lettered_total', 'Messages sent to the dead-letter queue/topic, by error code', ['code']);
export const batchSize = histogram('statusview_batch_size', 'Messages per consumed batch', [], [1, 10, 50, 100, 250, 500, 1000, 2000]);
export const batchCommitSeconds = histogram('statusview_batch_commit_seconds', 'Time to commit a batch to PostgreSQL and Redis', [], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
export const freshnessSeconds = histogram(
  'statusview_freshness_seconds',
  'End-to-end freshness: source commit time (ts_ms) to projection commit',
  [],
  [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
);
type Reading = () => number;
const readings = new Map<string, Reading>();

/** Lets the consumer provide a gauge's value at scrape time, from what it tracks in memory. */
export function setReading(metric: 'consumerStalled' | 'consumerStallSeconds', read: Reading): void {
  readings.set(metric, read);
}

export const consumerStalled = gauge(
  'statusview_consumer_stalled',
  '1 while the consumer has settled no batch for CDC_STALL_AFTER_MS or longer although messages wait (in flight or buffered), else 0',
  [],
  function () {
    this.set(readings.get('consumerStalled')?.() ?? 0);
    return Promise.resolve();
  },
);
export const consumerStallSeconds = gauge(
  'statusview_consumer_stall_seconds',
  'Seconds since the consumer last settled a batch while messages wait; 0 while it progresses or nothing waits',
  [],
  function () {
    this.set(readings.get('consumerStallSeconds')?.() ?? 0);
    return Promise.resolve();
  },
);
export const consumerLag = gauge('statusview_consumer_lag_messages', 'Messages waiting: queue depth (RabbitMQ) or high watermark minus offset (Kafka)', ['source']);
type BinlogLag = () => { bytes: number | null; seconds: number };
const binlogLags = new Map<string, BinlogLag>();

/** A binlog source reports its lag at scrape time, from the server position it last read; null removes it. */
export function setBinlogLagReading(source: string, read: BinlogLag | null): void {
  if (read) binlogLags.set(source, read);
  else binlogLags.delete(source);
}

export const binlogLagBytes = gauge(
  'statusview_binlog_lag_bytes',
  "Bytes of a MySQL/MariaDB source's binlog between its committed checkpoint and the server's current end",
  ['source'],
  function () {
    this.reset();
    for (const [source, read] of binlogLags) {
      const { bytes } = read();
      if (bytes !== null) this.set({ source }, bytes);
    }
    return Promise.resolve();
  },
);
export const binlogLagSeconds = gauge(
  'statusview_binlog_lag_seconds',
  'Age in seconds of the oldest binlog transaction received but not yet committed to the projection; 0 when none waits',
  ['source'],
  function () {
    this.reset();
    for (const [source, read] of binlogLags) this.set({ source }, read().seconds);
    return Promise.resolve();
  },
);
export const cacheRequests = counter('statusview_cache_requests_total', 'Customer view lookups in Redis, by result', ['result']);
export const cacheHitRatio = gauge('statusview_cache_hit_ratio', 'Share of customer lookups answered by Redis since start', [], async function () {
  const values = (await cacheRequests.get()).values;
  const hit = values.find((v) => v.labels.result === 'hit')?.value ?? 0;
  const miss = values.find((v) => v.labels.result === 'miss')?.value ?? 0;
  this.set(hit + miss === 0 ? 1 : hit / (hit + miss));
});
export const graphqlDuration = histogram(
  'statusview_graphql_request_duration_seconds',
  'GraphQL request duration by operation',
  ['operation'],
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
);

type ScrapeSourceName = 'outbox' | 'outboxParked' | 'unmapped' | 'reconcileDrift' | 'verifyDifferences' | 'verifyLastRun' | 'redisUsedMemory' | 'redisMaxMemory' | 'tableBytes' | 'indexBytes' | 'deadRows';
type ScrapeSource = () => Promise<number | Array<{ labels: Record<string, string>; value: number }>>;
const sources = new Map<string, ScrapeSource>();

/** Lets a service provide a gauge's value at scrape time (e.g. a count in PostgreSQL). */
export function setScrapeSource(metric: ScrapeSourceName, source: ScrapeSource): void {
  sources.set(metric, source);
}

async function fromSource(g: Gauge<string>, key: string): Promise<void> {
  const source = sources.get(key);
  if (!source) return;
  const value = await source().catch(() => undefined);
  if (value === undefined) return;
  g.reset();
  if (typeof value === 'number') g.set(value);
  else for (const v of value) g.set(v.labels, v.value);
}

export const tableBytes = gauge('statusview_table_bytes', 'Size of each of the projection\'s growing tables (heap and TOAST), read at scrape time', ['table'], async function () {
  await fromSource(this, 'tableBytes');
});
export const indexBytes = gauge('statusview_table_index_bytes', 'Size of the indexes of each of the projection\'s growing tables, read at scrape time', ['table'], async function () {
  await fromSource(this, 'indexBytes');
});
export const deadRows = gauge('statusview_table_dead_rows', 'Dead rows of each of the projection\'s growing tables that vacuum has yet to reclaim (PostgreSQL\'s statistics)', ['table'], async function () {
  await fromSource(this, 'deadRows');
});
export const tablesVacuumed = counter(
  'statusview_table_vacuums_total',
  "VACUUM runs of statusview's own tables by the service, when PostgreSQL's autovacuum is off (TABLE_VACUUM_INTERVAL_MS)",
  ['table'],
);
export const outboxCompactions = counter(
  'statusview_outbox_compactions_total',
  'Compactions of status_outbox (its rows kept, the table truncated: OUTBOX_COMPACT_BYTES), by outcome: compacted, or busy (a writer held the table past the lock timeout, or another instance compacted) and backlog (too many rows not relayed yet), tried again later',
  ['outcome'],
);
export const historyRowsRemoved = counter('statusview_history_rows_removed_total', 'Status changes removed from the history by retention (HISTORY_KEEP_DAYS)');
export const outboxBacklog = gauge('statusview_outbox_backlog', 'Status changes committed but not yet published', [], async function () {
  await fromSource(this, 'outbox');
});
export const outboxParked = gauge(
  'statusview_outbox_parked',
  'Status changes that can never be published (e.g. a routing key RabbitMQ refuses), set aside in status_outbox_dead',
  [],
  async function () {
    await fromSource(this, 'outboxParked');
  },
);
export const outboxParkedTotal = counter('statusview_outbox_parked_total', 'Status changes this process set aside in status_outbox_dead because they can never be published');
export const unmappedValues = gauge('statusview_unmapped_values', 'Live source records whose raw value no mapping rule covers, by system and field', ['system', 'field'], async function () {
  await fromSource(this, 'unmapped');
});

/**
 * Set by the reconcile command in its own process (for `--metrics-file`); in the service, read at
 * scrape time from the last stored report of each system, so that Prometheus sees it between runs.
 */
export const reconcileDrift = gauge(
  'statusview_reconcile_drift',
  'Records on which the view and the legacy system disagree, by kind (missing, gone, differs, unmappable), as of the last reconcile; repaired records are not counted',
  ['system', 'kind'],
  async function () {
    await fromSource(this, 'reconcileDrift');
  },
);

/** Read at scrape time from the last stored report of `verify` (the projection checked against itself). */
export const verifyDifferences = gauge(
  'statusview_verify_differences',
  'Customers on which the projection disagrees with itself, by kind (status, mapping, liveness, orphan, cache), as of the last verify; repaired ones are not counted',
  ['kind'],
  async function () {
    await fromSource(this, 'verifyDifferences');
  },
);
export const verifyLastRun = gauge('statusview_verify_last_run_timestamp_seconds', 'When the last verify finished (Unix time)', [], async function () {
  await fromSource(this, 'verifyLastRun');
});

/** Redis's memory against its limit, read (INFO memory) at scrape time. */
export const redisUsedMemory = gauge('statusview_redis_used_memory_bytes', "Redis's used_memory (INFO memory), read at scrape time", [], async function () {
  await fromSource(this, 'redisUsedMemory');
});
export const redisMaxMemory = gauge('statusview_redis_max_memory_bytes', "Redis's maxmemory, read at scrape time; 0: no limit (see docs/operations.md)", [], async function () {
  await fromSource(this, 'redisMaxMemory');
});
export const cacheWritesRefused = counter(
  'statusview_cache_writes_refused_total',
  'Cache writes Redis refused because it is full (OOM): the views were dropped from Redis instead and are read from PostgreSQL',
);

export { register as metricsRegistry };

/** What a direct source's replication slot reports at scrape time (see setSlotReading). */
export interface SlotReading {
  /** Bytes of WAL between the server's end and what the projection has (acknowledged). */
  lagBytes: number;
  /** Seconds since the commit of the oldest change received and not yet applied; 0 when caught up. */
  lagSeconds: number;
  /** Bytes of WAL the slot holds back on the server (from its restart_lsn); null before the first check. */
  retainedWalBytes: number | null;
}
const slotReadings = new Map<string, () => SlotReading>();

/** A direct source's slot, labelled by its system (a name from sources.yaml: bounded); `null` removes it. */
export function setSlotReading(system: string, read: (() => SlotReading) | null): void {
  if (read) slotReadings.set(system, read);
  else slotReadings.delete(system);
}

function slotGauge(name: string, help: string, pick: (r: SlotReading) => number | null): Gauge<string> {
  return gauge(name, help, ['system'], function () {
    this.reset();
    for (const [system, read] of slotReadings) {
      const v = pick(read());
      if (v !== null) this.set({ system }, v);
    }
    return Promise.resolve();
  });
}
export const replicationLagBytes = slotGauge(
  'statusview_replication_lag_bytes',
  'Direct PostgreSQL sources: bytes of WAL between the server\'s end and the position acknowledged (everything before it is in the projection), by system',
  (r) => r.lagBytes,
);
export const replicationLagSeconds = slotGauge(
  'statusview_replication_lag_seconds',
  'Direct PostgreSQL sources: seconds since the commit of the oldest change received and not yet in the projection (0 when caught up), by system',
  (r) => r.lagSeconds,
);
export const replicationRetainedWalBytes = slotGauge(
  'statusview_replication_retained_wal_bytes',
  'Direct PostgreSQL sources: bytes of WAL the replication slot holds back on the server (pg_current_wal_lsn - restart_lsn), by system',
  (r) => r.retainedWalBytes,
);

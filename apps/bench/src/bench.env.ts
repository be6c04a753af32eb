import { EnvConfig, loadEnvConfig } from '@app/config';

/**
 * `BENCH_RUN=<name>` (letters, digits, `_`) suffixes every name below, so that two runs on one
 * machine (two checkouts, a soak beside a part) never share a database, a key or a queue.
 */
const RUN = runSuffix(process.env.BENCH_RUN);

function runSuffix(run: string | undefined): string {
  if (!run) return '';
  if (!/^[a-z0-9_]{1,20}$/.test(run)) throw new Error(`BENCH_RUN must be 1 to 20 of a-z, 0-9 and _, got "${run.slice(0, 40)}"`);
  return `_${run}`;
}

/**
 * Every name the benchmarks use is their own: the statusview database, the legacy databases, the
 * Redis prefix and the RabbitMQ exchange and queues, so that a run never touches the service's or
 * the tests' data (and the other way round).
 */
export const BENCH_NAMES = {
  database: `statusview_bench${RUN}`,
  redisPrefix: `bench${RUN}:`,
  exchange: `bench.cdc${RUN}`,
  statusExchange: `bench.status${RUN}`,
  legacy: { crm: `statusview_bench${RUN}_crm`, portal: `statusview_bench${RUN}_portal`, billing: `statusview_bench${RUN}_billing` },
  /**
   * The direct CDC benchmark's crm database (read over logical replication), the service's slot
   * prefix (its slot and publication: `bench_direct_crm`) and the reference's slot.
   */
  direct: { crm: `statusview_bench${RUN}_direct_crm`, slotPrefix: `bench${RUN}_direct`, referenceSlot: `bench${RUN}_direct_recvlogical` },
} as const;

/** A queue of the benchmarks, with the run's suffix. */
export function benchQueue(name: string): string {
  return `${name}${RUN}`;
}

/** Where the servers are; the defaults suit this machine (README, "This machine"). */
export interface ServerUrls {
  postgresAdmin: string;
  redis: string;
  amqp: string;
  mysqlAdmin: string;
}

export function serverUrls(env: NodeJS.ProcessEnv = process.env): ServerUrls {
  return {
    postgresAdmin: env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redis: env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    amqp: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    mysqlAdmin: env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
  };
}

/** The URL of one database on the PostgreSQL server of `urls`. */
export function postgresUrl(urls: ServerUrls, database: string): string {
  const u = new URL(urls.postgresAdmin);
  u.pathname = `/${database}`;
  return u.toString();
}

export function mysqlUrl(urls: ServerUrls, database: string): string {
  return `${urls.mysqlAdmin.replace(/\/$/, '')}/${database}`;
}

/**
 * `BENCH_SERVICE_ENV="CDC_BATCH_SIZE=2000,OUTBOX_RELAY=false"`: what-if runs with other service
 * settings (printed, never written to the report).
 */
export function serviceEnvOverrides(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const raw = env.BENCH_SERVICE_ENV ?? '';
  return Object.fromEntries(
    raw
      .split(',')
      .map((kv) => kv.trim())
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/**
 * The service's configuration for a benchmark: its defaults (batch size, linger, prefetch) except
 * for the names above, a free port and anonymous reads.
 */
export function benchEnv(urls: ServerUrls, overrides: Record<string, string> = {}): EnvConfig {
  return loadEnvConfig({
    DATABASE_URL: postgresUrl(urls, BENCH_NAMES.database),
    REDIS_URL: urls.redis,
    REDIS_PREFIX: BENCH_NAMES.redisPrefix,
    AMQP_URL: urls.amqp,
    AMQP_EXCHANGE: BENCH_NAMES.exchange,
    AMQP_QUEUE: 'bench.queue',
    STATUS_EXCHANGE: BENCH_NAMES.statusExchange,
    PORT: '0',
    HOST: '127.0.0.1',
    ALLOW_ANONYMOUS_READS: 'true',
    ...overrides,
    ...serviceEnvOverrides(),
  });
}

/** The legacy databases' URLs under the variable names config/sources.yaml gives them. */
export function legacyEnv(urls: ServerUrls): Record<string, string> {
  return {
    LEGACY_CRM_URL: postgresUrl(urls, BENCH_NAMES.legacy.crm),
    LEGACY_PORTAL_URL: postgresUrl(urls, BENCH_NAMES.legacy.portal),
    LEGACY_BILLING_URL: mysqlUrl(urls, BENCH_NAMES.legacy.billing),
  };
}

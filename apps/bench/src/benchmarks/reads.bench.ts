import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { RedisKeys } from '@app/projection';
import { BENCH_NAMES, legacyEnv, ServerUrls } from '../bench.env';
import { BenchContext, BenchOutcome, Figure, ratio } from '../bench.model';
import { LegacyDatabases } from '../data/legacy.seeder';
import { ABSENT, customerId, prng, ReferenceCustomers } from '../data/reference-data';
import { clearRedisPrefix } from '../infra/servers';
import { httpLoad, HttpLoadOptions, HttpLoadResult } from '../load/http.load';
import { AppWorkerInfo } from '../workers/app.worker';
import { DelayProxyArgs, DelayProxyInfo } from '../workers/delay-proxy.worker';
import { NaiveGraphqlArgs } from '../workers/naive-graphql.worker';
import { WorkerHandle } from '../workers/worker.host';

export interface ReadsSize {
  customers: number;
  connections: number;
  durationS: number;
  warmupS: number;
  idsPerList: number;
}

/** The fields both GraphQL servers answer: everything of a customer but its history. */
const FIELDS = 'id status reason sources { system recordKey status rule raw }';
const ONE = `query($id: ID!) { customer(id: $id) { ${FIELDS} } }`;
const MANY = `query($ids: [ID!]!) { customers(ids: $ids) { ${FIELDS} } }`;

/**
 * 2. `customer(id)` over HTTP with random ids among the customers, cache warm, at a fixed
 * concurrency; against a bare Fastify route on the same Redis key and a naive resolver querying
 * the three legacy databases. Also `customers(ids)` with 100 ids against one bare MGET.
 */
export async function readsBench(ctx: BenchContext, size: ReadsSize): Promise<BenchOutcome> {
  const { urls } = ctx;
  const profileDir = ctx.profileDir && join(ctx.profileDir, 'reads');
  const customers = new ReferenceCustomers(size.customers);
  ctx.log(`reads: seeding ${size.customers.toLocaleString('en')} customers in the view and in the three legacy databases`);
  await ctx.view.reset();
  await ctx.view.seed(customers, ctx.mappings);
  await clearRedisPrefix(urls.redis, BENCH_NAMES.redisPrefix);
  const legacy = new LegacyDatabases(urls);
  await legacy.seedCrm(customers);
  await legacy.seedPortal(customers);
  await legacy.seedBilling(customers);

  // The legacy databases as production has them: a network away (LEGACY_RTT_MS round trip).
  const rttMs = Number(process.env.BENCH_LEGACY_RTT_MS ?? 1);
  const hostPort = (url: string) => new URL(url).host;
  const proxy = await WorkerHandle.start<DelayProxyInfo>('delay-proxy', {
    upstreams: { postgres: hostPort(urls.postgresAdmin), mysql: hostPort(urls.mysqlAdmin) },
    rttMs,
  } satisfies DelayProxyArgs);
  const direct = legacyEnv(urls);
  const through = (url: string, via: string) => {
    const u = new URL(url);
    u.host = via;
    return u.toString();
  };
  const legacyUrls = {
    LEGACY_CRM_URL: through(direct.LEGACY_CRM_URL, proxy.info.addresses.postgres),
    LEGACY_PORTAL_URL: through(direct.LEGACY_PORTAL_URL, proxy.info.addresses.postgres),
    LEGACY_BILLING_URL: through(direct.LEGACY_BILLING_URL, proxy.info.addresses.mysql),
  };
  const measuredRtt = await roundTripMs(legacyUrls.LEGACY_CRM_URL);
  const directRtt = await roundTripMs(direct.LEGACY_CRM_URL);
  ctx.log(`reads: legacy databases behind a ${rttMs} ms link (SELECT 1 takes ${measuredRtt.toFixed(2)} ms through it, ${directRtt.toFixed(2)} ms direct)`);

  const app = await WorkerHandle.start<AppWorkerInfo>('app', { parts: { api: true, ingest: false } }, { profileDir });
  const bare = await WorkerHandle.start<{ url: string }>('bare-http', null, { profileDir });
  const naive = await WorkerHandle.start<{ url: string }>('naive-graphql', { legacyUrls } satisfies NaiveGraphqlArgs, { profileDir });
  try {
    const warmed = await app.request<number>('warm', { from: 1, to: size.customers });
    ctx.log(`reads: cache warm (${warmed.toLocaleString('en')} views); checking that the three servers agree`);
    await agree(app.info.url, bare.info.url, naive.info.url, size.customers);
    const footprint = await redisBytesPerCustomer(urls.redis, customers, BYTES_SAMPLE);
    ctx.log(`reads: Redis holds ${footprint.meanBytes.toFixed(0)} B per cached customer with two sources (mean of ${footprint.keys} keys)`);

    const rng = prng(42);
    const randomId = () => customerId(1 + Math.floor(rng() * size.customers));
    const ids = () => Array.from({ length: size.idsPerList }, randomId);
    const run = async (name: string, options: Omit<HttpLoadOptions, 'connections' | 'durationS'>): Promise<HttpLoadResult> => {
      ctx.log(`reads: ${name}`);
      await httpLoad({ ...options, connections: size.connections, durationS: size.warmupS });
      const r = await httpLoad({ ...options, connections: size.connections, durationS: size.durationS });
      if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx responses`);
      return r;
    };
    const gql = (query: string, variables: () => Record<string, unknown>) => () => ({ body: JSON.stringify({ query, variables: variables() }) });

    const legacyBefore = await legacyTransactions(urls);
    const one = await run('customer(id) over GraphQL', { url: `${app.info.url}/graphql`, method: 'POST', next: gql(ONE, () => ({ id: randomId() })) });
    // PostgreSQL's statistics reach pg_stat_database within a second of a transaction's end.
    await new Promise((r) => setTimeout(r, 1500));
    const legacyDuringApp = (await legacyTransactions(urls)) - legacyBefore;
    const appReads = one.requests;
    const naiveBefore = await naive.request<{ reads: number; queries: number }>('counts');
    const bareOne = await run('bare Fastify + Redis GET', { url: bare.info.url, method: 'GET', next: () => ({ path: `/customer/${randomId()}` }) });
    const naiveOne = await run('naive resolver over the legacy databases', { url: `${naive.info.url}/graphql`, method: 'POST', next: gql(ONE, () => ({ id: randomId() })) });
    const naiveAfter = await naive.request<{ reads: number; queries: number }>('counts');
    const naivePerRead = (naiveAfter.queries - naiveBefore.queries) / Math.max(1, naiveAfter.reads - naiveBefore.reads);
    const many = await run(`customers(ids) with ${size.idsPerList} ids over GraphQL`, { url: `${app.info.url}/graphql`, method: 'POST', next: gql(MANY, () => ({ ids: ids() })) });
    const bareMany = await run(`bare Fastify + Redis MGET of ${size.idsPerList}`, { url: bare.info.url, method: 'GET', next: () => ({ path: `/customers?ids=${ids().join(',')}` }) });

    const c = size.connections;
    const reqs = (v: number) => ({ value: v, unit: 'req/s' });
    const ms = (v: number) => ({ value: v, unit: 'ms' });
    const vsBare = ratio(one.requestsPerSec, bareOne.requestsPerSec);
    const vsNaive = ratio(one.requestsPerSec, naiveOne.requestsPerSec);
    const figures: Figure[] = [
      {
        bench: 'reads',
        name: `customer(id), random ids, cache warm, ${c} connections`,
        value: reqs(one.requestsPerSec),
        reference: { name: 'bare Fastify route, Redis GET of the same key', ...reqs(bareOne.requestsPerSec) },
        ratio: vsBare,
        aim: { text: '≥ 0.7× bare', met: vsBare >= 0.7 },
      },
      {
        bench: 'reads',
        name: 'customer(id) p50 latency',
        value: ms(one.p50),
        reference: { name: 'bare Fastify route p50', ...ms(bareOne.p50) },
        ratio: ratio(one.p50, bareOne.p50),
      },
      {
        bench: 'reads',
        name: 'customer(id) p99 latency',
        value: ms(one.p99),
        reference: { name: 'bare Fastify route p99', ...ms(bareOne.p99) },
        ratio: ratio(one.p99, bareOne.p99),
        aim: { text: `≤ 1.2× the bare route's p99 at ${c} connections`, met: one.p99 <= 1.2 * bareOne.p99 },
      },
      {
        bench: 'reads',
        name: 'customer(id) vs the naive resolver',
        value: reqs(one.requestsPerSec),
        reference: {
          name: `naive resolver: 3 legacy databases ${rttMs} ms away, ${naivePerRead.toFixed(0)} queries per read (p50 ${naiveOne.p50.toFixed(1)} ms, p99 ${naiveOne.p99.toFixed(1)} ms); statusview: ${(legacyDuringApp / Math.max(1, appReads)).toFixed(0)} per read`,
          ...reqs(naiveOne.requestsPerSec),
        },
        ratio: vsNaive,
        aim: { text: '≥ 20× naive, 1 ms away', met: vsNaive >= 20 },
      },
      {
        bench: 'reads',
        name: `customers(ids) with ${size.idsPerList} ids (p50 ${many.p50.toFixed(1)} ms, p99 ${many.p99.toFixed(1)} ms)`,
        value: reqs(many.requestsPerSec),
        reference: { name: `bare Fastify route, one MGET of ${size.idsPerList} keys (p50 ${bareMany.p50.toFixed(1)} ms, p99 ${bareMany.p99.toFixed(1)} ms)`, ...reqs(bareMany.requestsPerSec) },
        ratio: ratio(many.requestsPerSec, bareMany.requestsPerSec),
        aim: { text: '≥ 0.7× the bare MGET route', met: many.requestsPerSec >= 0.7 * bareMany.requestsPerSec },
      },
      {
        bench: 'reads',
        name: `Redis bytes per cached customer (MEMORY USAGE, key included, mean of ${footprint.keys} keys, two sources)`,
        value: { value: footprint.meanBytes, unit: 'B' },
        aim: { text: '≤ 300 B', met: footprint.meanBytes <= 300 },
      },
    ];
    return {
      figures,
      notes: [
        `Reads: ${size.customers.toLocaleString('en')} customers; autocannon in the bench process at ${c} connections, ${size.warmupS} s warm-up then ${size.durationS} s measured per target, ` +
          `one target at a time; each server is a Node process of its own on the same 2 cores as the load generator, PostgreSQL, MariaDB and Redis. ` +
          `GraphQL selects \`${FIELDS}\` on both GraphQL servers; the bare route returns the cached body (its JSON) as it is. ` +
          `The naive resolver queries crm and portal (PostgreSQL) and billing (MariaDB) in parallel by an indexed customer number and maps in code, ` +
          `over a link of ${rttMs} ms round trip (a delaying TCP proxy in a process of its own, on loopback: SELECT 1 took ${measuredRtt.toFixed(2)} ms through it, ${directRtt.toFixed(2)} ms direct; pools of 16 connections per database). ` +
          `Queries to the legacy databases per read: the naive resolver's own count; statusview's from pg_stat_database (transactions in the two legacy PostgreSQL databases during its warm-up and run: ${legacyDuringApp}, over ${appReads.toLocaleString('en')} reads; it has no connection to billing at all).`,
      ],
      data: { size, one, bareOne, naiveOne, many, bareMany, footprint, legacy: { rttMs, measuredRtt, directRtt, naivePerRead, legacyDuringApp, appReads } },
    };
  } finally {
    await Promise.all([app.stop(), bare.stop(), naive.stop(), proxy.stop()]);
  }
}

/** How many cached customers the footprint figure measures. */
const BYTES_SAMPLE = 300;

/**
 * Redis `MEMORY USAGE` (key, value and Redis's own overhead) of the first `sample` customers that
 * have exactly two sources, after the cache is warm: what a cached customer costs in Redis.
 */
async function redisBytesPerCustomer(url: string, customers: ReferenceCustomers, sample: number): Promise<{ keys: number; meanBytes: number; valueBytes: number }> {
  const keys = new RedisKeys(BENCH_NAMES.redisPrefix);
  const ids: string[] = [];
  for (let i = 1; i <= customers.count && ids.length < sample; i++) {
    const sources = Number(customers.crm[i] !== ABSENT) + Number(customers.billing[i] !== ABSENT) + Number(customers.portal[i] !== ABSENT);
    if (sources === 2) ids.push(customerId(i));
  }
  const redis = new Redis(url);
  try {
    let bytes = 0;
    let valueBytes = 0;
    for (const id of ids) {
      const usage = (await redis.call('MEMORY', 'USAGE', keys.customer(id))) as number | null;
      if (usage === null) throw new Error(`${id} is not in Redis after the cache was warmed`);
      bytes += usage;
      valueBytes += await redis.strlen(keys.customer(id));
    }
    return { keys: ids.length, meanBytes: bytes / Math.max(1, ids.length), valueBytes: valueBytes / Math.max(1, ids.length) };
  } finally {
    redis.disconnect();
  }
}

/** The mean time of `SELECT 1` over one connection, 200 times in a row. */
async function roundTripMs(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    for (let i = 0; i < 20; i++) await c.query('SELECT 1');
    const started = performance.now();
    for (let i = 0; i < 200; i++) await c.query('SELECT 1');
    return (performance.now() - started) / 200;
  } finally {
    await c.end();
  }
}

/** Transactions committed so far in the two legacy PostgreSQL databases (pg_stat_database). */
async function legacyTransactions(urls: ServerUrls): Promise<number> {
  const c = new Client({ connectionString: urls.postgresAdmin });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>('SELECT coalesce(sum(xact_commit + xact_rollback), 0)::text AS n FROM pg_stat_database WHERE datname = ANY($1)', [
      [BENCH_NAMES.legacy.crm, BENCH_NAMES.legacy.portal],
    ]);
    return Number(r.rows[0].n);
  } finally {
    await c.end();
  }
}

/** The service, the bare route and the naive resolver must give the same status for the same customers. */
async function agree(appUrl: string, bareUrl: string, naiveUrl: string, customers: number): Promise<void> {
  const rng = prng(7);
  const post = async (url: string, id: string) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ONE, variables: { id } }) });
    const body = (await res.json()) as { data?: { customer: { status: string; reason: string } | null }; errors?: unknown[] };
    if (body.errors) throw new Error(`${url}: ${JSON.stringify(body.errors)}`);
    return body.data?.customer ?? null;
  };
  for (let k = 0; k < 200; k++) {
    const id = customerId(1 + Math.floor(rng() * customers));
    // The bare route answers the cached body as it is: a ViewCodec array, the status first.
    const [a, n, b] = await Promise.all([post(appUrl, id), post(naiveUrl, id), fetch(`${bareUrl}/customer/${id}`).then((r) => r.json() as Promise<unknown[] | null>)]);
    if (!a || !n || !b || a.status !== n.status || a.reason !== n.reason || a.status !== b[0]) {
      throw new Error(`servers disagree on ${id}: service ${JSON.stringify(a)}, naive ${JSON.stringify(n)}, bare ${JSON.stringify(b?.[0])}`);
    }
  }
}

import { join } from 'node:path';
import { BENCH_NAMES } from '../bench.env';
import { BenchContext, BenchOutcome, Figure, ratio } from '../bench.model';
import { LegacyDatabases } from '../data/legacy.seeder';
import { customerId, prng, ReferenceCustomers } from '../data/reference-data';
import { clearRedisPrefix } from '../infra/servers';
import { httpLoad, HttpLoadOptions, HttpLoadResult } from '../load/http.load';
import { AppWorkerInfo } from '../workers/app.worker';
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

  const app = await WorkerHandle.start<AppWorkerInfo>('app', { parts: { api: true, ingest: false } }, { profileDir });
  const bare = await WorkerHandle.start<{ url: string }>('bare-http', null, { profileDir });
  const naive = await WorkerHandle.start<{ url: string }>('naive-graphql', null, { profileDir });
  try {
    const warmed = await app.request<number>('warm', { from: 1, to: size.customers });
    ctx.log(`reads: cache warm (${warmed.toLocaleString('en')} views); checking that the three servers agree`);
    await agree(app.info.url, bare.info.url, naive.info.url, size.customers);

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

    const one = await run('customer(id) over GraphQL', { url: `${app.info.url}/graphql`, method: 'POST', next: gql(ONE, () => ({ id: randomId() })) });
    const bareOne = await run('bare Fastify + Redis GET', { url: bare.info.url, method: 'GET', next: () => ({ path: `/customer/${randomId()}` }) });
    const naiveOne = await run('naive resolver over the legacy databases', { url: `${naive.info.url}/graphql`, method: 'POST', next: gql(ONE, () => ({ id: randomId() })) });
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
        aim: { text: '≥ 0.5× bare', met: vsBare >= 0.5 },
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
        aim: { text: `< 10 ms at ${c} connections`, met: one.p99 < 10 },
      },
      {
        bench: 'reads',
        name: 'customer(id) vs the naive resolver',
        value: reqs(one.requestsPerSec),
        reference: { name: `naive resolver: 3 legacy databases per request (p50 ${naiveOne.p50.toFixed(1)} ms, p99 ${naiveOne.p99.toFixed(1)} ms)`, ...reqs(naiveOne.requestsPerSec) },
        ratio: vsNaive,
        aim: { text: '> 20× naive', met: vsNaive > 20 },
      },
      {
        bench: 'reads',
        name: `customers(ids) with ${size.idsPerList} ids (p50 ${many.p50.toFixed(1)} ms, p99 ${many.p99.toFixed(1)} ms)`,
        value: reqs(many.requestsPerSec),
        reference: { name: `bare Fastify route, one MGET of ${size.idsPerList} keys (p50 ${bareMany.p50.toFixed(1)} ms, p99 ${bareMany.p99.toFixed(1)} ms)`, ...reqs(bareMany.requestsPerSec) },
        ratio: ratio(many.requestsPerSec, bareMany.requestsPerSec),
      },
    ];
    return {
      figures,
      notes: [
        `Reads: ${size.customers.toLocaleString('en')} customers; autocannon in the bench process at ${c} connections, ${size.warmupS} s warm-up then ${size.durationS} s measured per target, ` +
          `one target at a time; each server is a Node process of its own on the same 2 cores as the load generator, PostgreSQL, MariaDB and Redis. ` +
          `GraphQL selects \`${FIELDS}\` on both GraphQL servers; the bare route returns the cached JSON as it is. ` +
          `The naive resolver queries crm and portal (PostgreSQL) and billing (MariaDB) in parallel by an indexed customer number and maps in code.`,
      ],
      data: { size, one, bareOne, naiveOne, many, bareMany },
    };
  } finally {
    await Promise.all([app.stop(), bare.stop(), naive.stop()]);
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
    const [a, n, b] = await Promise.all([post(appUrl, id), post(naiveUrl, id), fetch(`${bareUrl}/customer/${id}`).then((r) => r.json() as Promise<{ status: string } | null>)]);
    if (!a || !n || !b || a.status !== n.status || a.reason !== n.reason || a.status !== b.status) {
      throw new Error(`servers disagree on ${id}: service ${JSON.stringify(a)}, naive ${JSON.stringify(n)}, bare ${JSON.stringify(b?.status)}`);
    }
  }
}

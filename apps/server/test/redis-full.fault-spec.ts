import Redis from 'ioredis';
import { AmqpCdcConsumer } from '@app/cdc';
import { CdcConsumerService } from '@app/ingest';
import { CustomerReader, isOutOfMemory, memoryAdvice, RedisMemory } from '@app/projection';
import { BILLING, CdcPublisher, CRM, gql, PrivateRedis, TestApp, waitFor } from '@app/testing';

/**
 * Redis on a small node: 32 MB, `noeviction`, more customers than fit. Reaching 32 MB with
 * customers alone would take ~100,000 of them, so the Redis is first filled with ballast to
 * within a few hundred kilobytes of its limit (the other tenants of a shared Redis do the same);
 * the customers then overflow it. PostgreSQL is the truth: every read must answer what it holds,
 * and ingestion must go on although Redis refuses the cache's writes.
 */
const N = 3000;
const ids = Array.from({ length: N }, (_, i) => `RF-${String(i).padStart(5, '0')}`);
const billingStatus = ['ACTIVE', 'AT_RISK', 'SUSPENDED', 'CLOSED'];
const Q = 'query($ids: [ID!]!) { customers(ids: $ids) { id status reason statusSince updatedAt sources { system recordKey status rule raw sourceTimestamp position } } }';
type Answer = Array<Record<string, unknown> | null>;

describe('Redis full (maxmemory 32mb, noeviction)', () => {
  let redis: PrivateRedis;
  let ballast: Redis;
  let app: TestApp;
  let publisher: CdcPublisher;
  let consumer: AmqpCdcConsumer;

  beforeAll(async () => {
    redis = await PrivateRedis.start(['--maxmemory', '32mb', '--maxmemory-policy', 'noeviction']);
    app = await TestApp.start({ REDIS_URL: redis.url, CDC_BATCH_SIZE: '200' });
    publisher = await new CdcPublisher(app.env.amqp.url, app.env.amqp.exchange).connect();
    consumer = app.running.app.get(CdcConsumerService).consumer as AmqpCdcConsumer;
    ballast = new Redis(redis.url);
    // Ballast in 64 KB values until Redis refuses, then ~256 KB given back: room for a few hundred customers.
    const chunk = 'x'.repeat(64 * 1024);
    let n = 0;
    for (;;) {
      const pipeline = ballast.pipeline();
      for (let k = 0; k < 32; k++) pipeline.set(`ballast:${n++}`, chunk);
      const results = (await pipeline.exec()) ?? [];
      if (results.some(([e]) => e && isOutOfMemory(e))) break;
    }
    await ballast.del(...Array.from({ length: 4 }, (_, k) => `ballast:${k}`));
  }, 120_000);
  afterAll(async () => {
    ballast?.disconnect();
    await publisher?.close();
    await app?.stop();
    await redis?.dispose();
  });

  const answer = async (): Promise<Answer> => {
    const out: Answer = [];
    for (let from = 0; from < N; from += 200) {
      const r = await gql<{ customers: Answer }>(app.url, Q, { ids: ids.slice(from, from + 200) });
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      out.push(...r.data!.customers);
    }
    return out;
  };
  const fromDatabase = async (): Promise<Answer> => {
    const views = await app.running.app.get(CustomerReader).loadFromDatabase(ids);
    return ids.map((id) => {
      const view = views.get(id)?.view;
      if (!view) return null;
      const { version: _v, ruleSetVersion: _r, ...shape } = view;
      return shape;
    });
  };
  const health = async () => (await (await fetch(`${app.url}/health`)).json()) as { status: string; info: Record<string, Record<string, unknown>> };

  it('reads Redis settings at start and advises what to set', () => {
    const settings = app.running.app.get(RedisMemory).startSettings;
    expect(settings).toEqual({ maxBytes: 32 * 1024 * 1024, policy: 'noeviction', readBy: 'CONFIG GET' });
    expect(memoryAdvice(settings!)).toMatch(/noeviction.*Set maxmemory.*maxmemory-policy allkeys-lru/);
  });

  it('goes on ingesting, answers every read from PostgreSQL, and /health says Redis is full', async () => {
    await publisher.events(ids.flatMap((id, i) => [
      [CRM, 'c', null, { id: i, customer_no: id, email: `${id.toLowerCase()}@example.com`, status: 'ACTIVE', updated_at: 1_700_000_000_000_000 + i }] as const,
      [BILLING, 'c', null, { account_id: i, cust_ref: ` ${id.toLowerCase()}`, state: [0, 1, 2, 9][i % 4], balance_cents: i, modified: 1_700_000_000_000 + i }] as const,
    ]));
    await waitFor(async () => consumer.stats.consumed === 2 * N && (await publisher.ready(app.env.amqp.queue)).messages === 0, 'every event consumed', 60_000);

    const first = await answer();
    expect(first.map((c) => c?.status)).toEqual(ids.map((_, i) => billingStatus[i % 4]));
    expect(first).toEqual(await fromDatabase());
    // Some customers are in Redis (the room left), most are not: Redis refused them.
    const cached = (await ballast.mget(...ids.map((id) => `${app.env.redis.prefix}customer:${id}`))).filter((v) => v !== null).length;
    expect(cached).toBeGreaterThan(0);
    expect(cached).toBeLessThan(N);

    const h = await health();
    expect(h.status).toBe('ok');
    expect(h.info.redis).toMatchObject({ status: 'up', full: true, maxMemoryBytes: 32 * 1024 * 1024, maxMemoryPolicy: 'noeviction' });
    expect(h.info.redis.message).toMatch(/Redis is full/);
    expect(h.info.redis.usedMemoryBytes).toBeGreaterThan(30 * 1024 * 1024);

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^statusview_redis_max_memory_bytes 33554432$/m);
    expect(Number(/^statusview_redis_used_memory_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(30 * 1024 * 1024);
    expect(Number(/^statusview_cache_writes_refused_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

    // Every customer changes status while Redis is full: no read may answer the old one (an entry
    // Redis kept from before must not be served once its customer has moved on).
    await publisher.events(ids.map((id, i) => [BILLING, 'u', null, { account_id: i, cust_ref: ` ${id.toLowerCase()}`, state: [0, 1, 2, 9][(i + 1) % 4], balance_cents: i, modified: 1_700_000_001_000 + i }] as const));
    await waitFor(async () => consumer.stats.consumed === 3 * N && (await publisher.ready(app.env.amqp.queue)).messages === 0, 'the updates consumed', 60_000);
    const second = await answer();
    expect(second.map((c) => c?.status)).toEqual(ids.map((_, i) => billingStatus[(i + 1) % 4]));
    expect(second).toEqual(await fromDatabase());
    // And again (the misses' refills were refused too, or fit): still what PostgreSQL holds.
    expect(await answer()).toEqual(second);
    expect(await app.drainDeadLetters()).toEqual([]);
  }, 180_000);
});

describe('Redis that refuses CONFIG (renamed, as managed Redis does)', () => {
  let redis: PrivateRedis;
  let client: Redis;
  beforeAll(async () => {
    redis = await PrivateRedis.start(['--rename-command', 'CONFIG', '', '--maxmemory', '16mb', '--maxmemory-policy', 'allkeys-lru']);
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.dispose();
  });

  it('reads the settings from INFO memory instead, and says why', async () => {
    const settings = await new RedisMemory(client).readSettings();
    expect(settings).toEqual({ maxBytes: 16 * 1024 * 1024, policy: 'allkeys-lru', readBy: { info: expect.stringMatching(/unknown command/i) } });
    expect(memoryAdvice(settings)).toBeNull();
  });
});

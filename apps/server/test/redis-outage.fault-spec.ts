import { AmqpCdcConsumer } from '@app/cdc';
import { CdcConsumerService } from '@app/ingest';
import { CustomerCache, CustomerReader } from '@app/projection';
import { BILLING, CRM, gql, TestApp, waitFor } from '@app/testing';
import { CdcPublisher, PrivateRedis } from '@app/testing';

/**
 * Redis stopped while change events flow and GraphQL reads go on. The service runs against a
 * Redis of its own (same binary as the machine's, another port), so stopping it disturbs no one.
 */
const N = 100;
const PREFETCH = 20;
const ids = Array.from({ length: N }, (_, i) => `RO-${String(i).padStart(3, '0')}`);
// Before the outage: CRM only. ACTIVE without billing is PENDING; DORMANT is INACTIVE; PROSPECT PENDING.
const crmStatus = (i: number) => ['ACTIVE', 'DORMANT', 'PROSPECT'][i % 3];
const before = (i: number) => ['PENDING', 'INACTIVE', 'PENDING'][i % 3];
// During it: one billing account each, which decides alone: every customer changes status once more.
const billingState = (i: number) => [0, 1, 2, 9][i % 4];
const after = (i: number) => ['ACTIVE', 'AT_RISK', 'SUSPENDED', 'CLOSED'][i % 4];

const Q = 'query($ids: [ID!]!) { customers(ids: $ids) { id status reason } }';
type Answer = Array<{ id: string; status: string; reason: string } | null>;

describe('Redis stopped while events flow and reads go on', () => {
  let redis: PrivateRedis;
  let app: TestApp;
  let publisher: CdcPublisher;
  let consumer: AmqpCdcConsumer;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    app = await TestApp.start({ REDIS_URL: redis.url, AMQP_PREFETCH: String(PREFETCH), CDC_BATCH_SIZE: '10' });
    publisher = await new CdcPublisher(app.env.amqp.url, app.env.amqp.exchange).connect();
    consumer = app.running.app.get(CdcConsumerService).consumer as AmqpCdcConsumer;
  }, 60_000);
  afterAll(async () => {
    await publisher?.close();
    await app?.stop();
    await redis?.dispose();
  });

  const answer = async () => {
    const r = await gql<{ customers: Answer }>(app.url, Q, { ids });
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.customers;
  };
  const ready = async () => (await fetch(`${app.url}/health/ready`)).status;

  it('answers reads from PostgreSQL, pauses consumption without acking, then resumes, loses nothing and refills the cache', async () => {
    await publisher.events(ids.map((id, i) => [CRM, 'c', null, { id: i, customer_no: id, email: null, status: crmStatus(i), updated_at: 1 }]));
    await waitFor(async () => consumer.stats.consumed === N && (await answer()).every((c, i) => c?.status === before(i)), 'the first events', 20_000);

    // Reads go on through the whole test, every 20 ms.
    const reads: Array<{ at: number; answer?: Answer; error?: string }> = [];
    let reading = true;
    const reader = (async () => {
      const end = Date.now() + 90_000;
      while (reading && Date.now() < end) {
        const at = Date.now();
        await answer().then(
          (a) => reads.push({ at, answer: a }),
          (e: Error) => reads.push({ at, error: e.message }),
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    try {
      await redis.stop();
      const stoppedAt = Date.now();
      await waitFor(async () => (await ready()) === 503, '/health/ready to answer 503 while Redis is down');

      await publisher.events(ids.map((id, i) => [BILLING, 'c', null, { account_id: i, cust_ref: id, state: billingState(i), balance_cents: 0, modified: 1 }]));
      // The prefetch window fills and stays full: nothing is acknowledged, so nothing more is delivered.
      await waitFor(async () => (await publisher.ready(app.env.amqp.queue)).messages === N - PREFETCH, 'the prefetch window to fill');
      await new Promise((r) => setTimeout(r, 2000));
      expect(await publisher.ready(app.env.amqp.queue)).toEqual({ messages: N - PREFETCH, consumers: 1 });
      expect(consumer.stats.consumed).toBe(N);
      expect(consumer.stats.retries).toBeGreaterThan(0);

      // Reads answered from PostgreSQL: what it holds now (the first batch was committed there
      // before the cache write failed, so it is retried as a whole, nothing acknowledged).
      const fromDb = await app.running.app.get(CustomerReader).loadFromDatabase(ids);
      const now = await answer();
      expect(now).toEqual(ids.map((id) => {
        const v = fromDb.get(id)!.view!;
        return { id, status: v.status, reason: v.reason };
      }));
      const duringOutage = reads.filter((r) => r.at > stoppedAt);
      expect(duringOutage.length).toBeGreaterThan(20);

      await redis.start();
      await waitFor(async () => consumer.stats.consumed === 2 * N && (await answer()).every((c, i) => c?.status === after(i)), 'every event after Redis is back', 30_000);
      expect(await publisher.ready(app.env.amqp.queue)).toEqual({ messages: 0, consumers: 1 });
      await waitFor(async () => (await ready()) === 200, '/health/ready to answer 200 again');
    } finally {
      reading = false;
      await reader;
    }

    // Every read, before, during and after the outage, answered every customer with a status it really had.
    expect(reads.filter((r) => r.error)).toEqual([]);
    for (const r of reads) r.answer!.forEach((c, i) => expect([before(i), after(i)]).toContain(c?.status));

    // Nothing lost, nothing doubled, nothing dead-lettered.
    const history: Array<{ customer_id: string; n: number }> = await app.db.query(
      'SELECT customer_id, count(*)::int AS n FROM status_history WHERE customer_id = ANY($1) GROUP BY 1 ORDER BY 1',
      [ids],
    );
    expect(history).toEqual(ids.map((id) => ({ customer_id: id, n: 2 })));
    expect(await app.drainDeadLetters()).toEqual([]);

    // The cache is refilled (the retried batches and the reads' misses wrote it) and equals PostgreSQL.
    const fromDb = await app.running.app.get(CustomerReader).loadFromDatabase(ids);
    const cached = await app.running.app.get(CustomerCache).read(ids);
    expect(cached.map((entry) => entry?.view)).toEqual(ids.map((id) => fromDb.get(id)!.view));
  }, 120_000);

  // A Redis that hangs with its connections open (rather than refusing them): the command timeout
  // of the client (libs/bootstrap/src/connections.ts) makes reads fall back to PostgreSQL.
  it('Redis hung (process stopped, connections open): reads still answer from PostgreSQL within 5 s', async () => {
    redis.pause();
    let timer: NodeJS.Timeout | undefined;
    try {
      const a = await Promise.race([answer(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000)))]);
      expect(a.every((c, i) => c?.status === after(i))).toBe(true);
    } finally {
      // Not left to keep Jest waiting after the run.
      clearTimeout(timer);
      redis.resume();
      await waitFor(async () => (await answer()).every((c, i) => c?.status === after(i)), 'reads once Redis answers again');
    }
  }, 30_000);
});

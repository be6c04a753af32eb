import * as amqp from 'amqplib';
import { AmqpCdcConsumer, Row, TableRef } from '@app/cdc';
import { CdcConsumerService } from '@app/ingest';
import { BILLING, CRM, gql, TestApp, waitFor } from '@app/testing';
import { CdcPublisher, PrivatePostgres } from '@app/testing';

/**
 * PostgreSQL stopped or restarted while change events flow. The service's database lives in a
 * PostgreSQL cluster of its own (same binaries as the machine's, another port), so stopping it
 * disturbs no one. Every phase changes each customer's status exactly once, so status_history
 * must grow by exactly one entry per customer and phase: a lost event or a doubled entry shows.
 */
const N = 100;
const PREFETCH = 20;
const ids = Array.from({ length: N }, (_, i) => `PG-${String(i).padStart(3, '0')}`);
// CRM only: ACTIVE without billing is PENDING, DORMANT is INACTIVE, PROSPECT is PENDING.
const crmStatus = (i: number) => ['ACTIVE', 'DORMANT', 'PROSPECT'][i % 3];
const first = (i: number) => ['PENDING', 'INACTIVE', 'PENDING'][i % 3];
// Then the billing account decides alone; each phase moves every account one state further.
const STATES = [0, 1, 2, 9];
const BILLED = ['ACTIVE', 'AT_RISK', 'SUSPENDED', 'CLOSED'];

type Event = [TableRef, 'c' | 'u' | 'd' | 'r', Row | null, Row | null];
const account = (i: number, phase: number): Row => ({ account_id: i, cust_ref: ids[i], state: STATES[(i + phase) % 4], balance_cents: phase, modified: phase });

describe('PostgreSQL restarted while events flow', () => {
  let pg: PrivatePostgres;
  let app: TestApp;
  let publisher: CdcPublisher;
  let consumer: AmqpCdcConsumer;
  let watch: amqp.ChannelModel;
  const published: Array<{ messageId: string; customerId: string; to: string }> = [];

  beforeAll(async () => {
    pg = await PrivatePostgres.start();
    const url = await pg.createDatabase('statusview_fault');
    app = await TestApp.start({ DATABASE_URL: url, AMQP_PREFETCH: String(PREFETCH), CDC_BATCH_SIZE: '10' });
    publisher = await new CdcPublisher(app.env.amqp.url, app.env.amqp.exchange).connect();
    consumer = app.running.app.get(CdcConsumerService).consumer as AmqpCdcConsumer;
    // What the outbox relay publishes to the customer-status exchange.
    watch = await amqp.connect(app.env.amqp.url);
    const ch = await watch.createChannel();
    await ch.assertExchange(app.env.outbox.exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, app.env.outbox.exchange, '#');
    await ch.consume(queue, (m) => {
      if (!m) return;
      const body = JSON.parse(m.content.toString()) as { customerId: string; to: string };
      published.push({ messageId: m.properties.messageId as string, customerId: body.customerId, to: body.to });
    }, { noAck: true });

    await publisher.events(ids.map((id, i): Event => [CRM, 'c', null, { id: i, customer_no: id, email: null, status: crmStatus(i), updated_at: 1 }]));
    await waitFor(async () => consumer.stats.consumed === N && (await statuses()).every((s, i) => s === first(i)), 'the first events', 20_000);
  }, 60_000);
  afterAll(async () => {
    await watch?.close().catch(() => undefined);
    await publisher?.close();
    await app?.stop();
    await pg?.dispose();
  });

  const statuses = async () => {
    const r = await gql<{ customers: Array<{ status: string } | null> }>(app.url, 'query($ids: [ID!]!) { customers(ids: $ids) { status } }', { ids });
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.customers.map((c) => c?.status);
  };
  const ready = async () => (await fetch(`${app.url}/health/ready`)).status;

  /** Publishes a phase in chunks of 10 every 20 ms: events keep flowing while PostgreSQL goes away. */
  const flow = (phase: number) => {
    const events = ids.map((_, i): Event => [BILLING, phase === 1 ? 'c' : 'u', phase === 1 ? null : account(i, phase - 1), account(i, phase)]);
    return (async () => {
      for (let k = 0; k < events.length; k += 10) {
        await publisher.events(events.slice(k, k + 10));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  };

  /** Every event applied, each customer's final state right, exactly `entries` history entries each, everything published. */
  const expectAllReflected = async (phase: number, entries: number) => {
    await waitFor(async () => consumer.stats.consumed === N * (phase + 1) && (await statuses()).every((s, i) => s === BILLED[(i + phase) % 4]), `every event of phase ${phase}`, 30_000);
    expect(await publisher.ready(app.env.amqp.queue)).toEqual({ messages: 0, consumers: 1 });
    const history: Array<{ customer_id: string; n: number }> = await app.db.query(
      'SELECT customer_id, count(*)::int AS n FROM status_history GROUP BY 1 ORDER BY 1',
    );
    expect(history).toEqual(ids.map((id) => ({ customer_id: id, n: entries })));
    expect(await app.drainDeadLetters()).toEqual([]);
    // Every committed change reaches the customer-status exchange (at least once: a relay cut off
    // between the broker's confirm and its DELETE publishes again, with the same message id).
    await waitFor(async () => new Set(published.map((p) => p.messageId)).size === N * entries, 'every status change published', 20_000);
    // The relay deletes a row after RabbitMQ confirms it, so the last rows go a moment after their messages arrive.
    await waitFor(async () => (await app.db.query('SELECT count(*)::int AS n FROM status_outbox'))[0].n === 0, 'the outbox drained', 10_000);
    const last = new Map<string, string>();
    for (const p of published) last.set(p.customerId, p.to);
    expect(ids.map((id) => last.get(id))).toEqual(ids.map((_, i) => BILLED[(i + phase) % 4]));
  };

  it('stopped: consumption pauses without acking (cached reads still answer), and resumes by itself when it is back', async () => {
    const flowing = flow(1);
    await waitFor(async () => consumer.stats.consumed >= N + 20, 'the phase to be under way');
    await pg.stop('fast');
    await waitFor(async () => (await ready()) === 503, '/health/ready to answer 503 while PostgreSQL is down');
    await flowing;
    // Nothing is acknowledged while it is down: the prefetch window stays full and the rest waits in the queue.
    await new Promise((r) => setTimeout(r, 1000));
    const paused = consumer.stats.consumed;
    const waiting = await publisher.ready(app.env.amqp.queue);
    expect(waiting.messages).toBe(2 * N - paused - PREFETCH);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await publisher.ready(app.env.amqp.queue)).toEqual(waiting);
    expect(consumer.stats.consumed).toBe(paused);
    expect(consumer.stats.retries).toBeGreaterThan(0);
    // Reads of customers in the Redis cache go on.
    expect((await statuses()).every((s) => typeof s === 'string')).toBe(true);

    await pg.start();
    await expectAllReflected(1, 2);
    await waitFor(async () => (await ready()) === 200, '/health/ready to answer 200 again');
  }, 90_000);

  it('restarted (fast: every connection cut) in the middle of the flow: nothing lost or doubled', async () => {
    const before = { ...consumer.stats };
    const flowing = flow(2);
    await waitFor(async () => consumer.stats.consumed >= before.consumed + 20, 'the phase to be under way');
    await pg.restart('fast');
    await flowing;
    await expectAllReflected(2, 3);
    // A batch did meet the restart (and was retried).
    expect(consumer.stats.retries).toBeGreaterThan(before.retries);
  }, 90_000);

  it('crashed and recovered (immediate: no shutdown checkpoint) in the middle of the flow: nothing lost or doubled', async () => {
    const before = { ...consumer.stats };
    const flowing = flow(3);
    await waitFor(async () => consumer.stats.consumed >= before.consumed + 20, 'the phase to be under way');
    await pg.restart('immediate');
    await flowing;
    await expectAllReflected(3, 4);
    expect(consumer.stats.retries).toBeGreaterThan(before.retries);
  }, 90_000);
});

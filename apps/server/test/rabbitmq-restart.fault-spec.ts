import * as amqp from 'amqplib';
import { AmqpCdcConsumer, Row } from '@app/cdc';
import { CdcConsumerService } from '@app/ingest';
import { BILLING, CRM, gql, TestApp, waitFor } from '@app/testing';
import { CdcPublisher, PrivateRabbitMq } from '@app/testing';

/**
 * RabbitMQ restarted under the service. The service's broker is a RabbitMQ node of its own (same
 * installation as the machine's, another node name and port), so restarting it disturbs no one.
 * Both of the service's connections to it must come back by themselves: the change-event
 * consumer and the outbox relay that publishes status changes to the customer-status exchange.
 */
const N = 50;
const ids = Array.from({ length: N }, (_, i) => `MQ-${String(i).padStart(3, '0')}`);
const STATES = [0, 1, 2, 9];
const BILLED = ['ACTIVE', 'AT_RISK', 'SUSPENDED', 'CLOSED'];
const account = (i: number, phase: number): Row => ({ account_id: i, cust_ref: ids[i], state: STATES[(i + phase) % 4], balance_cents: phase, modified: phase });

describe('RabbitMQ restarted', () => {
  let rabbit: PrivateRabbitMq;
  let app: TestApp;
  let publisher: CdcPublisher;
  let consumer: AmqpCdcConsumer;
  let watcher: amqp.ChannelModel | null = null;
  const statusChanges: Array<{ messageId: string; customerId: string; to: string }> = [];

  /** A durable queue on the customer-status exchange, read by a connection that is opened again after the restart. */
  const watch = async () => {
    const conn = await amqp.connect(rabbit.url);
    conn.on('error', () => undefined);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(app.env.outbox.exchange, 'topic', { durable: true });
    const queue = `${app.env.amqp.queue}.status-watch`;
    await ch.assertQueue(queue, { durable: true });
    await ch.bindQueue(queue, app.env.outbox.exchange, '#');
    await ch.consume(queue, (m) => {
      if (!m) return;
      const body = JSON.parse(m.content.toString()) as { customerId: string; to: string };
      statusChanges.push({ messageId: m.properties.messageId as string, customerId: body.customerId, to: body.to });
      ch.ack(m);
    });
    watcher = conn;
  };

  beforeAll(async () => {
    rabbit = await PrivateRabbitMq.start();
    app = await TestApp.start({ AMQP_URL: rabbit.url, AMQP_PREFETCH: '20', CDC_BATCH_SIZE: '10' });
    publisher = await new CdcPublisher(rabbit.url, app.env.amqp.exchange).connect();
    consumer = app.running.app.get(CdcConsumerService).consumer as AmqpCdcConsumer;
    await watch();
  }, 90_000);
  afterAll(async () => {
    await watcher?.close().catch(() => undefined);
    await publisher?.close();
    await app?.stop();
    await rabbit?.dispose();
  });

  const statuses = async () => {
    const r = await gql<{ customers: Array<{ status: string } | null> }>(app.url, 'query($ids: [ID!]!) { customers(ids: $ids) { status } }', { ids });
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.customers.map((c) => c?.status);
  };
  const ready = async () => (await fetch(`${app.url}/health/ready`)).status;
  const changesOf = (to: (i: number) => string) =>
    waitFor(
      async () => ids.every((id, i) => statusChanges.some((c) => c.customerId === id && c.to === to(i))),
      'the status changes on the customer-status exchange',
      20_000,
    );

  it('reconnects the consumer and the outbox relay by themselves: events published after the restart are applied and their status changes published', async () => {
    await publisher.events(ids.map((id, i) => [CRM, 'c', null, { id: i, customer_no: id, email: null, status: 'DORMANT', updated_at: 1 }]));
    await waitFor(async () => (await statuses()).every((s) => s === 'INACTIVE'), 'the first events');
    await changesOf(() => 'INACTIVE');

    // Events waiting in the queue (or half consumed) when the broker goes down.
    await publisher.events(ids.map((_, i) => [BILLING, 'c', null, account(i, 1)]));
    await rabbit.stop();
    await waitFor(async () => (await ready()) === 503, '/health/ready to answer 503 while RabbitMQ is down');
    await rabbit.start();

    await waitFor(async () => consumer.running && (await ready()) === 200, 'the consumer to reconnect by itself', 20_000);
    await waitFor(async () => (await statuses()).every((s, i) => s === BILLED[(i + 1) % 4]), 'the events of before the restart (durable queue)', 20_000);

    await publisher.reconnect();
    await watch();
    await publisher.events(ids.map((_, i) => [BILLING, 'u', account(i, 1), account(i, 2)]));
    await waitFor(async () => (await statuses()).every((s, i) => s === BILLED[(i + 2) % 4]), 'the events published after the restart', 20_000);
    await changesOf((i) => BILLED[(i + 2) % 4]);

    // Nothing lost, nothing doubled: three changes per customer, each published (at least once).
    const history: Array<{ customer_id: string; n: number }> = await app.db.query('SELECT customer_id, count(*)::int AS n FROM status_history GROUP BY 1 ORDER BY 1');
    expect(history).toEqual(ids.map((id) => ({ customer_id: id, n: 3 })));
    await waitFor(async () => new Set(statusChanges.map((c) => c.messageId)).size === 3 * N, 'every status change published', 20_000);
    // The relay deletes a row after RabbitMQ confirms it, so the last rows go a moment after their messages arrive.
    await waitFor(async () => (await app.db.query('SELECT count(*)::int AS n FROM status_outbox'))[0].n === 0, 'the outbox drained', 10_000);
    expect(await publisher.ready(`${app.env.amqp.queue}.dlq`)).toEqual({ messages: 0, consumers: 0 });
  }, 120_000);
});

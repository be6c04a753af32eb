import * as amqp from 'amqplib';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BILLING, CRM, TestApp, waitFor } from '@app/testing';

/** Status changes leave the service: published to RabbitMQ through the outbox, and to GraphQL subscribers. */
describe('status changes', () => {
  let app: TestApp;
  let conn: amqp.ChannelModel;
  let ch: amqp.Channel;
  let queue: string;
  const received: Array<{ routingKey: string; body: Record<string, unknown>; persistent: boolean; messageId: string }> = [];

  beforeAll(async () => {
    app = await TestApp.start();
    conn = await amqp.connect(app.env.amqp.url);
    ch = await conn.createChannel();
    await ch.assertExchange(app.env.outbox.exchange, 'topic', { durable: true });
    ({ queue } = await ch.assertQueue('', { exclusive: true }));
    await ch.bindQueue(queue, app.env.outbox.exchange, '#');
    await ch.consume(queue, (m) => {
      if (!m) return;
      received.push({
        routingKey: m.fields.routingKey,
        body: JSON.parse(m.content.toString()) as Record<string, unknown>,
        persistent: m.properties.deliveryMode === 2,
        messageId: m.properties.messageId as string,
      });
    }, { noAck: true });
  });
  afterAll(async () => {
    await conn.close();
    await app.stop();
  });

  it('publishes every canonical status change to the customer-status exchange, routing key = new status', async () => {
    await app.event(CRM, 'c', null, { id: 1, customer_no: 'S-1', email: null, status: 'ACTIVE', updated_at: 1 });
    await waitFor(async () => received.some((r) => r.body.customerId === 'S-1'), 'first change');
    const account = { account_id: 1, cust_ref: 'S-1', state: 1, balance_cents: 0, modified: 1 };
    await app.event(BILLING, 'c', null, account);
    await waitFor(async () => received.filter((r) => r.body.customerId === 'S-1').length === 2, 'second change');
    const mine = received.filter((r) => r.body.customerId === 'S-1');
    expect(mine.map((r) => [r.routingKey, r.body.from, r.body.to, r.body.reason, r.body.ruleSetVersion])).toEqual([
      ['PENDING', null, 'PENDING', 'no-billing-yet', 1],
      ['AT_RISK', 'PENDING', 'AT_RISK', 'at-risk', 1],
    ]);
    // The customer's version after each change: a consumer drops one older than what it has.
    expect(mine.map((r) => r.body.customerVersion)).toEqual([1, 2]);
    expect(mine.every((r) => r.persistent && typeof r.body.at === 'string' && r.messageId.startsWith('status-change-'))).toBe(true);
    // The relay deletes its rows in the transaction it publishes them from, just after the confirms.
    await waitFor(async () => (await app.db.query('SELECT count(*)::int AS n FROM status_outbox'))[0].n === 0, 'outbox relayed');
  });

  it('publishes nothing when an event changes no status', async () => {
    const before = received.length;
    await app.event(CRM, 'u', null, { id: 1, customer_no: 'S-1', email: 'new@example.com', status: 'ACTIVE', updated_at: 2 });
    await app.event(CRM, 'c', null, { id: 2, customer_no: 'S-2', email: null, status: 'DORMANT', updated_at: 1 });
    await waitFor(async () => received.some((r) => r.body.customerId === 'S-2'), 'the change after');
    expect(received.slice(before).map((r) => r.body.customerId)).toEqual(['S-2']);
  });

  it('delivers a change event published to RabbitMQ to a subscribed GraphQL client within a second', async () => {
    const client = createClient({ url: `${app.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: false });
    const got: Array<{ customerId: string; from: string | null; to: string; reason: string }> = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ customerStatusChanged: { customerId: string; from: string | null; to: string; reason: string } }>(
        { query: 'subscription { customerStatusChanged(ids: ["s-3"], statuses: ["SUSPENDED"]) { customerId from to reason ruleSetVersion at } }' },
        {
          next: (v) => {
            if (v.data) got.push(v.data.customerStatusChanged);
            if (v.errors) reject(new Error(JSON.stringify(v.errors)));
            resolve();
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    try {
      await new Promise((r) => setTimeout(r, 300)); // let the subscription register
      // Not matching the filter: another customer, and S-3's first status (PENDING).
      await app.event(CRM, 'c', null, { id: 4, customer_no: 'S-4', email: null, status: 'ACTIVE', updated_at: 1 });
      await app.event(CRM, 'c', null, { id: 3, customer_no: 'S-3', email: null, status: 'ACTIVE', updated_at: 1 });
      await waitFor(async () => received.some((r) => r.body.customerId === 'S-3'), 'S-3 created');
      const published = Date.now();
      await app.event(BILLING, 'c', null, { account_id: 3, cust_ref: 'S-3', state: 2, balance_cents: 0, modified: 1 });
      await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('no update within a second')), 1000))]);
      expect(Date.now() - published).toBeLessThan(1000);
      expect(got).toEqual([{ customerId: 'S-3', from: 'PENDING', to: 'SUSPENDED', reason: 'suspended', ruleSetVersion: 1, at: expect.any(String) }]);
    } finally {
      await client.dispose();
    }
  });

  it('publishes a customer removed with its last record (to RabbitMQ and to subscribers), and keeps it out of the history', async () => {
    type Change = { customerId: string; from: string | null; to: string; removed: boolean; customerVersion: number };
    const client = createClient({ url: `${app.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: false });
    const got: Change[] = [];
    client.subscribe<{ customerStatusChanged: Change }>(
      { query: 'subscription { customerStatusChanged(ids: ["S-9"]) { customerId from to removed customerVersion } }' },
      { next: (v) => v.data && got.push(v.data.customerStatusChanged), error: () => undefined, complete: () => undefined },
    );
    try {
      await new Promise((r) => setTimeout(r, 300)); // let the subscription register
      const row = { id: 9, customer_no: 'S-9', email: null, status: 'ACTIVE', updated_at: 1 };
      await app.event(CRM, 'c', null, row);
      await waitFor(async () => got.length === 1, 'the first change');
      await app.event(CRM, 'd', row, null);
      await waitFor(async () => got.length === 2, 'the removal');
      expect(got).toEqual([
        { customerId: 'S-9', from: null, to: 'PENDING', removed: false, customerVersion: 1 },
        { customerId: 'S-9', from: 'PENDING', to: 'PENDING', removed: true, customerVersion: 2 },
      ]);
      await waitFor(async () => received.filter((r) => r.body.customerId === 'S-9').length === 2, 'both on RabbitMQ');
      expect(received.filter((r) => r.body.customerId === 'S-9').map((r) => [r.routingKey, r.body.from, r.body.to, r.body.removed])).toEqual([
        ['PENDING', null, 'PENDING', false],
        ['PENDING', 'PENDING', 'PENDING', true],
      ]);
      expect(await app.db.query(`SELECT to_status FROM status_history WHERE customer_id = 'S-9'`)).toEqual([{ to_status: 'PENDING' }]);
      // Back again: a change from null, as a new customer's.
      await app.event(CRM, 'c', null, { ...row, updated_at: 2 });
      await waitFor(async () => got.length === 3, 'the customer back');
      expect(got[2]).toEqual({ customerId: 'S-9', from: null, to: 'PENDING', removed: false, customerVersion: 3 });
    } finally {
      await client.dispose();
    }
  });

  it('parks a change RabbitMQ can never take, with its reason, and publishes the changes after it', async () => {
    // A status of a rule set stored before such names were refused: too long for a routing key.
    const long = 'X'.repeat(300);
    await app.db.query(
      `INSERT INTO status_outbox (customer_id, from_status, to_status, reason, rule_set_version, at) VALUES ('S-LONG', NULL, $1, 'stored-before', 1, now())`,
      [long],
    );
    await app.event(CRM, 'c', null, { id: 5, customer_no: 'S-5', email: null, status: 'ACTIVE', updated_at: 1 });
    await waitFor(async () => received.some((r) => r.body.customerId === 'S-5'), 'the change after the one RabbitMQ cannot take');
    await waitFor(async () => (await app.db.query('SELECT count(*)::int AS n FROM status_outbox'))[0].n === 0, 'outbox relayed');
    expect(received.some((r) => r.body.customerId === 'S-LONG')).toBe(false);
    expect(await app.db.query('SELECT customer_id, to_status, reason, error FROM status_outbox_dead')).toEqual([
      { customer_id: 'S-LONG', to_status: long, reason: 'stored-before', error: 'its routing key (the new status) is 300 bytes in UTF-8; RabbitMQ takes at most 255' },
    ]);
    const health = (await (await fetch(`${app.url}/health`)).json()) as { details: Record<string, unknown> };
    expect(health.details.outbox).toEqual({
      status: 'up',
      parked: 1,
      lastParked: { id: expect.any(String), error: expect.stringMatching(/300 bytes/), at: expect.any(String) },
    });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^statusview_outbox_parked 1$/m);
    expect(metrics).toMatch(/^statusview_outbox_parked_total 1$/m);
    expect(metrics).toMatch(/^statusview_outbox_backlog 0$/m);
  });
});

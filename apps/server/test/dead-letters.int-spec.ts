import { AmqpCdcConsumer } from '@app/cdc';
import { CdcConsumerService } from '@app/ingest';
import { CRM, gql, TestApp, waitFor } from '@app/testing';

/** Bad messages go to the dead-letter queue with their reason; the consumer goes on and loses nothing. */
describe('dead-lettering', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterAll(() => app.stop());

  const status = async (id: string) =>
    (await gql<{ customer: { status: string } | null }>(app.url, `query($id: ID!) { customer(id: $id) { status } }`, { id })).data?.customer?.status;

  it('isolates an event PostgreSQL refuses and dead-letters it alone; the rest of its batch is applied', async () => {
    const row = (id: number, no: string, email: string | null) => ({ id, customer_no: no, email, status: 'ACTIVE', updated_at: 1 });
    await app.event(CRM, 'c', null, row(50, 'P-BEFORE', null));
    // jsonb cannot hold a NUL character: PostgreSQL refuses this one record (a data exception).
    await app.event(CRM, 'c', null, row(51, 'P-NUL', 'bad\u0000mail@example.com'));
    await app.event(CRM, 'c', null, row(52, 'P-AFTER', null));
    await waitFor(async () => (await status('P-AFTER')) === 'PENDING', 'the event after the poisoned one');
    expect(await status('P-BEFORE')).toBe('PENDING');
    expect(await status('P-NUL')).toBeUndefined();
    const dead: Array<{ body: string; headers: Record<string, unknown> }> = [];
    await waitFor(async () => {
      dead.push(...(await app.drainDeadLetters()));
      return dead.length >= 1;
    }, 'the refused event dead-lettered');
    expect(dead).toHaveLength(1);
    expect(dead[0].headers['x-error-code']).toBe('REJECTED_BY_STORE');
    expect(JSON.parse(dead[0].body).after.customer_no).toBe('P-NUL');
  });

  it('dead-letters what cannot be decoded or mapped, with the reason, and applies the valid messages around them', async () => {
    const row = (id: number, no: string) => ({ id, customer_no: no, email: null, status: 'ACTIVE', updated_at: 1 });
    await app.event(CRM, 'c', null, row(1, 'D-BEFORE'));
    await app.publish(CRM.topic, 'this is not JSON');
    await app.publish(CRM.topic, '[1, 2, 3]');
    await app.publish(CRM.topic, { before: null, after: null, op: 'u', source: { lsn: 1 } });
    await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, { id: 2, customer_no: '   ', status: 'ACTIVE' }));
    await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, { customer_no: 'D-NOKEY', status: 'ACTIVE' }));
    await app.publish('legacy.erp.orders', app.log.envelope(CRM, 'c', null, row(3, 'D-ERP')));
    await app.event(CRM, 'c', null, row(4, 'D-AFTER'));

    await waitFor(async () => (await status('D-AFTER')) === 'PENDING', 'the message after the bad ones');
    expect(await status('D-BEFORE')).toBe('PENDING');
    expect(await status('D-ERP')).toBeUndefined();

    // Dead letters are published (with confirms) just before the batch's ack, after its commit.
    const dead: Array<{ body: string; headers: Record<string, unknown> }> = [];
    await waitFor(async () => {
      dead.push(...(await app.drainDeadLetters()));
      return dead.length >= 6;
    }, 'six dead letters');
    expect(dead.map((d) => [d.headers['x-error-code'], d.headers['x-original-routing-key']])).toEqual([
      ['NOT_JSON', CRM.topic],
      ['NOT_DEBEZIUM', CRM.topic],
      ['NO_USABLE_ROW', CRM.topic],
      ['NO_USABLE_ROW', CRM.topic],
      ['NO_USABLE_ROW', CRM.topic],
      ['UNKNOWN_TOPIC', 'legacy.erp.orders'],
    ]);
    expect(dead[0].body).toBe('this is not JSON');
    expect(dead[3].headers['x-error-reason']).toMatch(/customer key "customer_no" is missing or empty/);
    expect(dead[4].headers['x-error-reason']).toMatch(/record key column "id" missing/);
    expect(dead[5].headers['x-error-reason']).toMatch(/no source is configured for topic "legacy.erp.orders"/);

    const consumer = app.running.app.get(CdcConsumerService).consumer as AmqpCdcConsumer;
    expect(consumer.running).toBe(true);
    expect(consumer.stats.deadLettered).toBe(7);
    const res = await fetch(`${app.url}/health`);
    expect(res.status).toBe(200);
  });
});

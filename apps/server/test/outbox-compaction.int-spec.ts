import * as amqp from 'amqplib';
import { Client } from 'pg';
import { RunningApp, startApp } from '@app/bootstrap';
import { CRM, gql, TestApp, testEnv, waitFor } from '@app/testing';

const crm = (id: number, no: string) => ({ id, customer_no: no, email: null, status: 'ACTIVE', updated_at: 1 });
const outboxBytes = async (app: TestApp) => Number((await app.db.query("SELECT pg_total_relation_size('status_outbox') AS n"))[0].n);
const outboxRows = async (app: TestApp) => Number((await app.db.query('SELECT count(*)::int AS n FROM status_outbox'))[0].n);
const compactions = async (app: TestApp, outcome: string) =>
  Number(new RegExp(`^statusview_outbox_compactions_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(await (await fetch(`${app.url}/metrics`)).text())?.[1] ?? 0);

/** What keeps the outbox near its live size: it is a queue, and VACUUM alone never gives its room back. */
describe('outbox compaction', () => {
  describe('with the default threshold', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await TestApp.start();
    });
    afterAll(async () => app?.stop());

    it('shrinks a relayed outbox back to its empty size once no change is written', async () => {
      for (let i = 0; i < 1500; i++) await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, crm(i, `OQ-${i}`)));
      await waitFor(async () => (await gql<{ customer: { status: string } | null }>(app.url, '{ customer(id: "OQ-1499") { status } }')).data?.customer?.status, 'the last change applied', 20_000);
      // Without compaction the relayed rows' room stays: a VACUUM can give back empty pages at the
      // heap's end, never the index's (about 40 kB for these 1,500 rows).
      await waitFor(async () => (await outboxRows(app)) === 0 && (await outboxBytes(app)) <= 16_384, 'the outbox back to its empty size (two pages)', 15_000);
      expect(await compactions(app, 'compacted')).toBeGreaterThanOrEqual(1);
    });
  });

  describe('while changes flow', () => {
    let app: TestApp;
    let other: RunningApp;
    let watch: amqp.ChannelModel;
    /** Every status change the relays published, by message id. */
    const published = new Map<string, { customerId: string; times: number }>();

    beforeAll(async () => {
      // A threshold of two pages: both instances compact at every check while events flow.
      app = await TestApp.start({ OUTBOX_COMPACT_BYTES: '16384', CDC_BATCH_SIZE: '50' });
      // A second instance on the same database, relaying (and compacting) to the same exchange.
      other = await startApp({ api: true, ingest: false }, { env: testEnv({ OUTBOX_COMPACT_BYTES: '16384', STATUS_EXCHANGE: app.env.outbox.exchange }), logger: false });
      watch = await amqp.connect(app.env.amqp.url);
      const ch = await watch.createChannel();
      await ch.assertExchange(app.env.outbox.exchange, 'topic', { durable: true });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, app.env.outbox.exchange, '#');
      await ch.consume(
        queue,
        (m) => {
          if (!m) return;
          const id = m.properties.messageId as string;
          const seen = published.get(id);
          if (seen) seen.times++;
          else published.set(id, { customerId: (JSON.parse(m.content.toString()) as { customerId: string }).customerId, times: 1 });
        },
        { noAck: true },
      );
    }, 60_000);
    afterAll(async () => {
      await watch?.close().catch(() => undefined);
      await other?.close();
      await app?.stop();
    });

    it('publishes every change exactly once while two instances compact under ingest, and goes on past a writer that holds the outbox', async () => {
      const status = async (id: string) => (await gql<{ customer: { status: string } | null }>(app.url, `{ customer(id: "${id}") { status } }`)).data?.customer?.status;
      const busyBefore = await compactions(app, 'busy');
      // Both instances run in this process: one registry, so one /metrics counts both.
      const compactedBefore = await compactions(app, 'compacted');

      // A writer that put a change in the outbox and has not committed: compaction must not wait
      // for it (nor make ingest wait behind it) past its lock timeout.
      const held = new Client({ connectionString: app.env.database.url });
      await held.connect();
      await held.query('BEGIN');
      await held.query(
        "INSERT INTO status_outbox (customer_id, from_status, to_status, reason, rule_set_version, at, customer_version) VALUES ('HELD-1', NULL, 'ACTIVE', 'held open', 1, now(), 1)",
      );
      try {
        for (let i = 0; i < 800; i++) await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, crm(20_000 + i, `OC-${i}`)));
        await waitFor(async () => (await status('OC-799')) !== undefined, 'ingest going on while a writer holds the outbox', 20_000);
        await waitFor(async () => (await compactions(app, 'busy')) > busyBefore, 'a compaction that gave up on the held table', 10_000);
      } finally {
        await held.query('COMMIT');
        await held.end();
      }
      for (let i = 800; i < 1600; i++) await app.publish(CRM.topic, app.log.envelope(CRM, 'c', null, crm(20_000 + i, `OC-${i}`)));

      const expected = new Set(['HELD-1', ...Array.from({ length: 1600 }, (_, i) => `OC-${i}`)]);
      await waitFor(async () => [...published.values()].filter((p) => expected.has(p.customerId)).length === expected.size, 'every change published', 30_000);
      const mine = [...published.values()].filter((p) => expected.has(p.customerId));
      expect(new Set(mine.map((p) => p.customerId))).toEqual(expected);
      expect(mine.filter((p) => p.times > 1)).toEqual([]);
      expect(mine).toHaveLength(expected.size);
      expect((await compactions(app, 'compacted')) - compactedBefore).toBeGreaterThanOrEqual(2);
    });
  });
});

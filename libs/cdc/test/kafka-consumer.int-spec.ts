import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DebeziumLog, InboundMessage, KafkaCdcConsumer, MessageVerdict, Row } from '@app/cdc';
import { ChangeBatchProcessor, CdcConsumerService } from '@app/ingest';
import { ProjectionError } from '@app/projection';
import { BILLING, CRM, gql, KafkaMockCluster, KafkaTestClient, PORTAL, ProducedMessage, TestApp, waitFor } from '@app/testing';

/**
 * The Kafka transport over the wire: the service (consumer group, projection, PostgreSQL, Redis)
 * against librdkafka's mock Kafka cluster on this machine, fed messages shaped as Debezium's Kafka
 * Connect sends them: the record key as the message key (JSON, with or without the schema
 * wrapper), the envelope as the value, tombstones as a null value with the key, heartbeats and
 * schema changes on topics of their own. One cluster and one consumer group for the file.
 */
const FIXTURES = join(__dirname, '../fixtures');
const fixture = (name: string): Row => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Row;
const HEARTBEATS = '__debezium-heartbeat.legacy';
/** MySQL's schema-change topic is the connector's topic prefix. */
const SCHEMA_CHANGES = 'legacy';
const TOPICS = [CRM.topic, BILLING.topic, PORTAL.topic, HEARTBEATS, SCHEMA_CHANGES];

const Q = `query($id: ID!) { customer(id: $id) { id status reason sources { system recordKey status } history { from to reason } } }`;
type Customer = {
  id: string;
  status: string;
  reason: string;
  sources: Array<{ system: string; recordKey: string; status: string }>;
  history: Array<{ from: string | null; to: string; reason: string }>;
};

describe('Kafka transport over the wire (librdkafka mock cluster → kafkajs group → projection → GraphQL)', () => {
  let cluster: KafkaMockCluster;
  let kafka: KafkaTestClient;
  let app: TestApp;
  let processor: ChangeBatchProcessor;
  const log = new DebeziumLog();
  const id = randomBytes(3).toString('hex');
  const groupId = `statusview-test-${id}`;
  const dlqTopic = `statusview-test-${id}.dlq`;

  const customer = async (cid: string): Promise<Customer | null> => {
    const res = await gql<{ customer: Customer | null }>(app.url, Q, { id: cid });
    expect(res.errors).toBeUndefined();
    return res.data?.customer ?? null;
  };
  const committed = () => kafka.committed(groupId, TOPICS);
  /** Waits until the group committed past every given message: the projection holds them by then. */
  const consumed = async (topic: string, where: ReadonlyArray<{ partition: number; offset: string }>, timeoutMs = 15_000): Promise<void> => {
    await waitFor(
      async () => {
        const c = await committed();
        return where.every((w) => (c.get(`${topic}[${w.partition}]`) ?? -1n) > BigInt(w.offset));
      },
      `the group to commit past ${where.length} message(s) of ${topic}`,
      timeoutMs,
    );
  };
  const metric = async (line: RegExp): Promise<number | undefined> => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const m = text.split('\n').find((l) => line.test(l));
    return m === undefined ? undefined : Number(m.split(' ').pop());
  };
  const deadLetters = async () => (await kafka.readAll(dlqTopic)).map((m) => ({ ...m, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null }));

  const crmRow = (n: number, no: string, status: string): Row => ({ id: n, customer_no: no, email: `${no.toLowerCase()}@example.com`, status, updated_at: 1700000000000000 + n });
  const crmCreate = (n: number, no: string, status: string): ProducedMessage => ({ key: { id: n }, value: log.envelope(CRM, 'c', null, crmRow(n, no, status)) });
  const account = (n: number, ref: string, state: number): Row => ({ account_id: n, cust_ref: ref, state, balance_cents: 500, modified: 1700000000000 + n });
  const billingCreate = (n: number, ref: string, state: number): ProducedMessage => ({ key: { account_id: n }, value: log.envelope(BILLING, 'c', null, account(n, ref, state)) });

  beforeAll(async () => {
    cluster = await KafkaMockCluster.start();
    kafka = await new KafkaTestClient(cluster).connect();
    app = await TestApp.start({
      CDC_TRANSPORT: 'kafka',
      KAFKA_BROKERS: cluster.bootstrap,
      KAFKA_GROUP_ID: groupId,
      KAFKA_DLQ_TOPIC: dlqTopic,
      KAFKA_EXTRA_TOPICS: `${HEARTBEATS},${SCHEMA_CHANGES}`,
      KAFKA_LAG_INTERVAL_MS: '200',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      // The mock answers a fetch that finds nothing only after this wait, even when a message arrives meanwhile.
      KAFKA_FETCH_MAX_WAIT_MS: '100',
      // Small chunks, so that a fetched batch is several chunks, each committed on its own.
      CDC_BATCH_SIZE: '3',
      CDC_CONCURRENCY: '2',
    });
    processor = app.running.app.get(ChangeBatchProcessor);
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await kafka?.close();
    await cluster?.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  it('applies Debezium messages keyed by their record key, plain and with the schema wrapper, and commits past them', async () => {
    const where = await kafka.send(CRM.topic, [
      crmCreate(1101, 'K1-CRM', 'DORMANT'),
      // Kafka Connect's JsonConverter with schemas.enable=true wraps key and value alike.
      { key: log.wrapped({ id: 1102 }), value: log.wrapped(log.envelope(CRM, 'c', null, crmRow(1102, ' k1-wrap ', 'PROSPECT'))) },
    ]);
    await consumed(CRM.topic, where);

    expect(await customer('K1-CRM')).toMatchObject({ status: 'INACTIVE', reason: 'inactive', sources: [{ system: 'crm', recordKey: '1101', status: 'INACTIVE' }] });
    expect(await customer('k1-wrap')).toMatchObject({ id: 'K1-WRAP', status: 'PENDING', history: [{ from: null, to: 'PENDING', reason: 'pending' }] });
    // The group's committed offset is the next one to read: last + 1, on the partition each key hashed to.
    const c = await committed();
    for (const w of where) expect(c.get(`${CRM.topic}[${w.partition}]`)).toBeGreaterThanOrEqual(BigInt(w.offset) + 1n);
  });

  it('resolves one status from two topics consumed by the same group', async () => {
    await consumed(CRM.topic, await kafka.send(CRM.topic, [crmCreate(1201, 'K2-1', 'ACTIVE')]));
    expect(await customer('K2-1')).toMatchObject({ status: 'PENDING', reason: 'no-billing-yet' });
    await consumed(BILLING.topic, await kafka.send(BILLING.topic, [billingCreate(1201, ' k2-1 ', 1)]));
    const c = await customer('K2-1');
    expect(c).toMatchObject({ status: 'AT_RISK', reason: 'at-risk' });
    expect(c?.sources.map((s) => [s.system, s.status])).toEqual([
      ['billing', 'AT_RISK'],
      ['crm', 'ACTIVE'],
    ]);
  });

  it('applies a delete followed by its tombstone (null value, same key): the customer is gone, nothing is dead-lettered', async () => {
    await consumed(CRM.topic, await kafka.send(CRM.topic, [crmCreate(1401, 'K4-1', 'ACTIVE')]));
    expect(await customer('K4-1')).not.toBeNull();
    const before = (await deadLetters()).length;

    // PostgreSQL's default replica identity: the delete's `before` holds only the primary key.
    const where = await kafka.send(CRM.topic, [
      { key: { id: 1401 }, value: log.envelope(CRM, 'd', { id: 1401 }, null) },
      { key: { id: 1401 }, value: null },
    ]);
    // Same key, same partition, in order.
    expect(where[1]).toEqual({ partition: where[0].partition, offset: (BigInt(where[0].offset) + 1n).toString() });
    await consumed(CRM.topic, where);

    expect(await customer('K4-1')).toBeNull();
    expect((await deadLetters()).length).toBe(before);
  });

  it('consumes the heartbeat and schema-change topics on the same consumer: skipped, committed, not dead-lettered', async () => {
    const skipped = async (reason: string) => (await metric(new RegExp(`^statusview_messages_skipped_total\\{reason="${reason}"\\}`))) ?? 0;
    const [heartbeats, schemaChanges, before] = [await skipped('heartbeat'), await skipped('schema-change'), (await deadLetters()).length];

    const hb = await kafka.send(HEARTBEATS, [
      { key: { serverName: 'legacy' }, value: fixture('heartbeat.json') },
      { key: log.wrapped({ serverName: 'legacy' }), value: fixture('heartbeat.wrapped.json') },
    ]);
    const sc = await kafka.send(SCHEMA_CHANGES, [{ key: { databaseName: 'billing' }, value: fixture('schema-change.json') }]);
    await consumed(HEARTBEATS, hb);
    await consumed(SCHEMA_CHANGES, sc);

    expect(await skipped('heartbeat')).toBe(heartbeats + 2);
    expect(await skipped('schema-change')).toBe(schemaChanges + 1);
    expect((await deadLetters()).length).toBe(before);
  });

  it('dead-letters undecodable and unmappable messages with reason, topic, partition and offset as headers, key and value kept, and goes on', async () => {
    const junk = '{"before": null, "after": {"id": 15';
    const where = await kafka.send(CRM.topic, [
      crmCreate(1501, 'K5-1', 'CLOSED'),
      { key: { id: 1502 }, value: junk },
      { key: { id: 1503 }, value: log.envelope(CRM, 'c', null, { id: 1503, customer_no: '   ', status: 'ACTIVE' }) },
      crmCreate(1504, 'K5-2', 'PROSPECT'),
    ]);
    // A message on a consumed topic no source is configured for (here: not a schema change).
    const stray = await kafka.send(SCHEMA_CHANGES, [{ key: { id: 1 }, value: log.envelope({ ...CRM, topic: SCHEMA_CHANGES }, 'c', null, crmRow(1, 'K5-1', 'ACTIVE')) }]);
    await consumed(CRM.topic, where);
    await consumed(SCHEMA_CHANGES, stray);

    const dead = (await deadLetters()).filter((m) => ['{"id":1502}', '{"id":1503}', '{"id":1}'].includes(m.key ?? ''));
    const header = (code: string, topic: string, w: { partition: number; offset: string }) => ({
      'x-error-code': code,
      'x-original-topic': topic,
      'x-original-partition': String(w.partition),
      'x-original-offset': w.offset,
    });
    expect(dead).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: '{"id":1502}', value: junk, headers: expect.objectContaining({ ...header('NOT_JSON', CRM.topic, where[1]), 'x-error-reason': expect.stringMatching(/^not JSON/) }) }),
        expect.objectContaining({ key: '{"id":1503}', headers: expect.objectContaining({ ...header('NO_USABLE_ROW', CRM.topic, where[2]), 'x-error-reason': expect.stringContaining('customer key') }) }),
        expect.objectContaining({ key: '{"id":1}', headers: expect.objectContaining({ ...header('UNKNOWN_TOPIC', SCHEMA_CHANGES, stray[0]), 'x-error-reason': expect.stringContaining('"legacy"') }) }),
      ]),
    );
    expect(dead).toHaveLength(3);
    // The valid messages around them applied; the stray one did not reach K5-1.
    expect(await customer('K5-1')).toMatchObject({ status: 'CLOSED', reason: 'closed' });
    expect(await customer('K5-2')).toMatchObject({ status: 'PENDING', reason: 'pending' });
  });

  it('dead-letters poison (a key too long, nesting too deep, an lsn of 1e21, text jsonb cannot hold) at its offsets, and applies the rest', async () => {
    const noise = (n: number) => randomBytes(n).toString('base64url').slice(0, n);
    const deep = JSON.stringify(log.envelope(CRM, 'c', null, crmRow(1611, 'K6P-DEEP', 'ACTIVE'))).replace(
      /"email":"[^"]*"/,
      `"email":${'['.repeat(5000)}${']'.repeat(5000)}`,
    );
    const bigLsn = JSON.stringify(log.envelope(CRM, 'c', null, crmRow(1612, 'K6P-LSN', 'ACTIVE'))).replace('"lsn":', '"lsn":1e21,"was":');
    const surrogate = JSON.stringify(log.envelope(CRM, 'c', null, crmRow(1614, 'K6P-SURROGATE', 'ACTIVE'))).replace(/"email":"[^"]*"/, '"email":"\\ud800"');
    const where = await kafka.send(CRM.topic, [
      crmCreate(1610, 'K6P-BEFORE', 'PROSPECT'),
      crmCreate(1613, noise(3000), 'PROSPECT'),
      { key: { id: 1611 }, value: deep },
      { key: { id: 1612 }, value: bigLsn },
      { key: { id: 1614 }, value: surrogate },
      crmCreate(1615, 'K6P-AFTER', 'PROSPECT'),
    ]);
    await consumed(CRM.topic, where);
    // Offsets count per partition: a message is its partition and offset.
    const at = (partition: unknown, offset: unknown) => `${String(partition)}@${String(offset)}`;
    const codes = new Map((await deadLetters()).map((m) => [at(m.headers['x-original-partition'], m.headers['x-original-offset']), m.headers['x-error-code']]));
    expect([1, 2, 3, 4].map((i) => codes.get(at(where[i].partition, where[i].offset)))).toEqual(['KEY_TOO_LONG', 'TOO_DEEP', 'BAD_POSITION', 'REJECTED_BY_STORE']);
    expect(await customer('K6P-BEFORE')).toMatchObject({ status: 'PENDING' });
    expect(await customer('K6P-AFTER')).toMatchObject({ status: 'PENDING' });
  });

  it('reports the messages waiting and the last error while a chunk is retried, and progress once it commits', async () => {
    const service = app.running.app.get(CdcConsumerService);
    let failures = 0;
    const original = processor.handle.bind(processor);
    jest.spyOn(processor, 'handle').mockImplementation(async (batch: readonly InboundMessage[]): Promise<MessageVerdict[]> => {
      if (batch.some((m) => m.topic === BILLING.topic) && failures < 4) {
        failures++;
        throw new ProjectionError('STORE_UNAVAILABLE', 'PostgreSQL: the test refuses it');
      }
      return original(batch);
    });
    const where = await kafka.send(BILLING.topic, [billingCreate(1701, 'K7S-1', 0)]);
    await waitFor(async () => failures >= 2, 'the chunk to be retried');
    const during = service.progress();
    expect(during.waiting).toBeGreaterThanOrEqual(1);
    expect(during.lastError).toMatch(/the test refuses it/);
    await consumed(BILLING.topic, where);
    await waitFor(async () => service.progress().waiting === 0, 'nothing waiting');
    expect(service.progress()).toMatchObject({ stalled: false, lastError: null });
  });

  it('commits a partition chunk by chunk, each offset only after its chunk is in PostgreSQL and before the next chunk starts', async () => {
    // One record (one key, one partition) moving from customer to customer: where it is tells which chunk committed.
    const first = await kafka.send(CRM.topic, [crmCreate(1300, 'K3-0', 'DORMANT')]);
    await consumed(CRM.topic, first);
    const watch = `${CRM.topic}[${first[0].partition}]`;
    const seen: Array<{ offsets: string[]; committedBefore: bigint | undefined; recordAt: string }> = [];
    const original = processor.handle.bind(processor);
    jest.spyOn(processor, 'handle').mockImplementation(async (batch: readonly InboundMessage[]) => {
      const mine = batch.filter((m) => m.ref.startsWith(`${watch}@`));
      if (mine.length > 0) {
        const rows = (await app.db.query(`SELECT customer_id FROM source_record WHERE system = 'crm' AND record_key = '1300'`)) as Array<{ customer_id: string }>;
        seen.push({ offsets: mine.map((m) => m.ref.split('@')[1]), committedBefore: (await committed()).get(watch), recordAt: rows[0]?.customer_id });
      }
      return original(batch);
    });
    const owners = ['K3-1', 'K3-2', 'K3-3', 'K3-4', 'K3-5', 'K3-6', 'K3-7'];
    const where = await kafka.send(
      CRM.topic,
      owners.map((no) => ({ key: { id: 1300 }, value: log.envelope(CRM, 'u', null, crmRow(1300, no, 'DORMANT')) })),
    );
    expect(new Set(where.map((w) => w.partition))).toEqual(new Set([first[0].partition]));
    await consumed(CRM.topic, where);

    const ownerAt = new Map([[first[0].offset, 'K3-0'], ...where.map((w, i): [string, string] => [w.offset, owners[i]])]);
    // Chunks of at most CDC_BATCH_SIZE (3), in offset order, covering every message once.
    expect(seen.flatMap((c) => c.offsets)).toEqual(where.map((w) => w.offset));
    expect(Math.max(...seen.map((c) => c.offsets.length))).toBeLessThanOrEqual(3);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const c of seen) {
      // When a chunk starts, everything before it is committed to Kafka, nothing of it...
      expect(c.committedBefore).toBe(BigInt(c.offsets[0]));
      // ...and PostgreSQL holds the previous chunk: the offset was committed after its transaction.
      expect(c.recordAt).toBe(ownerAt.get((BigInt(c.offsets[0]) - 1n).toString()));
    }
    expect(await customer('K3-7')).toMatchObject({ status: 'INACTIVE', sources: [{ system: 'crm', recordKey: '1300' }] });
    expect(await customer('K3-6')).toBeNull();
  });

  it('commits nothing while the projection fails (an outage), and commits once it is back', async () => {
    let failures = 0;
    const committedWhileFailing: Array<bigint | undefined> = [];
    const original = processor.handle.bind(processor);
    let watch = '';
    jest.spyOn(processor, 'handle').mockImplementation(async (batch: readonly InboundMessage[]): Promise<MessageVerdict[]> => {
      if (watch && batch.some((m) => m.ref.startsWith(watch)) && failures < 3) {
        failures++;
        committedWhileFailing.push((await committed()).get(watch));
        throw new ProjectionError('STORE_UNAVAILABLE', 'PostgreSQL: connect ECONNREFUSED 127.0.0.1:5432');
      }
      return original(batch);
    });
    const first = await kafka.send(CRM.topic, [crmCreate(1800, 'K8-0', 'DORMANT')]);
    await consumed(CRM.topic, first);
    watch = `${CRM.topic}[${first[0].partition}]`;
    const before = (await committed()).get(watch);
    const where = await kafka.send(CRM.topic, [{ key: { id: 1800 }, value: log.envelope(CRM, 'u', null, crmRow(1800, 'K8-1', 'CLOSED')) }]);
    await consumed(CRM.topic, where);

    expect(failures).toBe(3);
    expect(committedWhileFailing).toEqual([before, before, before]);
    expect(await customer('K8-1')).toMatchObject({ status: 'CLOSED' });
  });

  it('reports the group lag per partition, from committed offsets and high watermarks, in /metrics and /health', async () => {
    const LAG_USER = '90000000-0000-4000-8000-000000000001';
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const original = processor.handle.bind(processor);
    jest.spyOn(processor, 'handle').mockImplementation(async (batch: readonly InboundMessage[]) => {
      if (batch.some((m) => m.topic === PORTAL.topic)) await gate;
      return original(batch);
    });
    const users = Array.from({ length: 20 }, (_, i) => ({
      key: { user_id: LAG_USER },
      value: log.envelope(PORTAL, i === 0 ? 'c' : 'u', null, { user_id: LAG_USER, customer_no: 'K9-1', registered_at: '2024-01-01T00:00:00Z', first_login_at: null, locked: i % 2 === 0 }),
    }));
    const where = await kafka.send(PORTAL.topic, users);
    const source = `${PORTAL.topic}[${where[0].partition}]`;
    const lagLine = new RegExp(`^statusview_consumer_lag_messages\\{source="${source.replace(/[.[\]]/g, '\\$&')}"\\}`);
    const health = async () => ((await (await fetch(`${app.url}/health`)).json()) as { info: { consumer: { kafka: { lag: { total: number; partitions: Record<string, number> } } } } }).info.consumer.kafka;

    // Blocked in the first chunk: nothing of the 20 is committed.
    await waitFor(async () => (await metric(lagLine)) === 20, `lag 20 on ${source} in /metrics`);
    expect((await health()).lag.partitions[source]).toBe(20);
    expect((await health()).lag.total).toBeGreaterThanOrEqual(20);

    release();
    await consumed(PORTAL.topic, where);
    await waitFor(async () => (await metric(lagLine)) === 0, `lag 0 on ${source} in /metrics`);
    await waitFor(async () => (await health()).lag.partitions[source] === 0, `lag 0 on ${source} in /health`);
    const all = await health();
    // Every partition of every consumed topic is measured, all caught up.
    expect(Object.keys(all.lag.partitions).sort()).toEqual(TOPICS.flatMap((t) => [0, 1, 2, 3].map((p) => `${t}[${p}]`)).sort());
    expect(all.lag.total).toBe(0);
  });

  it('applies partitions concurrently, one chunk at a time per partition and in offset order, with per-customer results as if in order', async () => {
    const calls: Array<{ partition: string; offsets: bigint[]; start: number; end: number }> = [];
    const original = processor.handle.bind(processor);
    jest.spyOn(processor, 'handle').mockImplementation(async (batch: readonly InboundMessage[]) => {
      const start = performance.now();
      // A little slower than it is, so that chunks of different partitions meet.
      await new Promise((r) => setTimeout(r, 5));
      const verdicts = await original(batch);
      calls.push({ partition: batch[0].ref.split('@')[0], offsets: batch.map((m) => BigInt(m.ref.split('@')[1])), start, end: performance.now() });
      return verdicts;
    });
    // 40 customers, each with a crm record and a billing account (different topics, so different
    // partitions applied at the same time), each record updated several times.
    const n = 40;
    const crm: ProducedMessage[] = [];
    const billing: ProducedMessage[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i++) {
        const no = `KC-${String(i).padStart(3, '0')}`;
        crm.push({ key: { id: 5000 + i }, value: log.envelope(CRM, round === 0 ? 'c' : 'u', null, crmRow(5000 + i, no, ['PROSPECT', 'DORMANT', 'ACTIVE'][round])) });
        billing.push({ key: { account_id: 5000 + i }, value: log.envelope(BILLING, round === 0 ? 'c' : 'u', null, account(5000 + i, no, [0, 2, 1][round])) });
      }
    }
    const [wc, wb] = await Promise.all([kafka.send(CRM.topic, crm), kafka.send(BILLING.topic, billing)]);
    await consumed(CRM.topic, wc);
    await consumed(BILLING.topic, wb);

    const mine = calls.filter((c) => c.partition.startsWith(CRM.topic) || c.partition.startsWith(BILLING.topic));
    // Two chunks at once at some moment (CDC_CONCURRENCY=2), never more, and never two of one partition.
    for (const c of mine) expect(mine.filter((o) => o.partition === c.partition && o.start < c.end && c.start < o.end)).toEqual([c]);
    const events = mine.flatMap((c) => [
      { at: c.start, d: 1 },
      { at: c.end, d: -1 },
    ]);
    let inFlight = 0;
    let most = 0;
    for (const e of events.sort((a, b) => a.at - b.at || a.d - b.d)) most = Math.max(most, (inFlight += e.d));
    expect(most).toBe(2);
    // Per partition, offsets strictly increasing from chunk to chunk.
    const byPartition = new Map<string, bigint[]>();
    for (const c of [...mine].sort((a, b) => a.start - b.start)) byPartition.set(c.partition, [...(byPartition.get(c.partition) ?? []), ...c.offsets]);
    for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : 1)));
    // Every customer as its last crm (ACTIVE) and billing (state 1) events make it, with no history beyond its changes.
    for (let i = 0; i < n; i += 7) {
      const c = await customer(`KC-${String(i).padStart(3, '0')}`);
      expect(c).toMatchObject({ status: 'AT_RISK', reason: 'at-risk' });
      expect(c?.sources.map((s) => [s.system, s.recordKey, s.status])).toEqual([
        ['billing', String(5000 + i), 'AT_RISK'],
        ['crm', String(5000 + i), 'ACTIVE'],
      ]);
    }
  });

  it('shows the member, its partitions and no crash in /health', async () => {
    const consumer = app.running.app.get(CdcConsumerService).consumer;
    expect(consumer).toBeInstanceOf(KafkaCdcConsumer);
    const body = (await (await fetch(`${app.url}/health`)).json()) as { status: string; info: { consumer: { status: string; kafka: { assigned: Record<string, number[]>; crashes: number } } } };
    expect(body.status).toBe('ok');
    expect(body.info.consumer.status).toBe('up');
    expect(body.info.consumer.kafka.crashes).toBe(0);
    // The only member: every partition of every consumed topic.
    expect(Object.keys(body.info.consumer.kafka.assigned).sort()).toEqual([...TOPICS].sort());
  });
});

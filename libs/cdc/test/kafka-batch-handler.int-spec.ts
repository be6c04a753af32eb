import { randomBytes } from 'node:crypto';
import { EachBatchPayload, KafkaMessage, OffsetsByTopicPartition, TopicPartitionOffsetAndMetadata } from 'kafkajs';
import { ChangeBatchHandler, ConsumerProgress, ConsumerProgressReport, DebeziumLog, InboundMessage, KafkaBatchHandler, KafkaSinks, MessageVerdict, Row, TableRef, tableRefOf } from '@app/cdc';
import { DOMAIN_CONFIG, DomainConfig } from '@app/config';
import { ChangeBatchProcessor } from '@app/ingest';
import { ProjectionError } from '@app/projection';
import { BILLING, CRM, gql, PORTAL, TestApp } from '@app/testing';

/**
 * The Kafka adapter at kafkajs's own boundary: `EachBatchPayload`s built as kafkajs delivers
 * them (no broker can run here), with the real decoder, projection, PostgreSQL and Redis behind
 * it. Only the broker side (offset commits, the dead-letter topic) is recorded by the sinks.
 */

const Q = `query($id: ID!) { customer(id: $id) { id status reason sources { system recordKey status } history { from to reason } } }`;
type Customer = {
  id: string;
  status: string;
  reason: string;
  sources: Array<{ system: string; recordKey: string; status: string }>;
  history: Array<{ from: string | null; to: string; reason: string }>;
};

type DeadLetter = Parameters<KafkaSinks['deadLetter']>[0][number];
type Value = Row | string | null;

/** One partition's offsets as kafkajs's consumer group keeps them: resolved locally, committed to the broker. */
class PartitionOffsets {
  resolved: string | null = null;
  committed: string | null = null;
}

/** A fetched batch, as kafkajs's `Batch` presents it. */
function kafkaBatch(topic: string, partition: number, messages: KafkaMessage[], highWatermark: string): EachBatchPayload['batch'] {
  const last = (): string => (messages.length ? messages[messages.length - 1].offset : (BigInt(highWatermark) - 1n).toString());
  return {
    topic,
    partition,
    highWatermark,
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0]?.offset ?? null,
    lastOffset: last,
    offsetLag: () => (BigInt(highWatermark) - 1n - BigInt(last())).toString(),
    offsetLagLow: () => (messages.length ? (BigInt(highWatermark) - 1n - BigInt(messages[0].offset)).toString() : '0'),
  };
}

interface Delivery {
  payload: EachBatchPayload;
  offsets: PartitionOffsets;
  heartbeats: number;
  resolvedCalls: string[];
  pauses: number;
}

/**
 * What kafkajs passes to `eachBatch` for one topic-partition. Like kafkajs, `resolveOffset(o)`
 * marks `o + 1` as the next offset to consume and `uncommittedOffsets()` reports resolved
 * offsets the broker has not been given yet.
 */
function deliver(
  topic: string,
  partition: number,
  messages: KafkaMessage[],
  control: { offsets?: PartitionOffsets; running?: () => boolean; stale?: () => boolean } = {},
): Delivery {
  const offsets = control.offsets ?? new PartitionOffsets();
  const highWatermark = messages.length ? (BigInt(messages[messages.length - 1].offset) + 1n).toString() : '0';
  const d: Delivery = {
    offsets,
    heartbeats: 0,
    resolvedCalls: [],
    pauses: 0,
    payload: {
      batch: kafkaBatch(topic, partition, messages, highWatermark),
      resolveOffset: (offset) => {
        d.resolvedCalls.push(offset);
        offsets.resolved = (BigInt(offset) + 1n).toString();
      },
      heartbeat: async () => {
        d.heartbeats++;
      },
      pause: () => {
        d.pauses++;
        return () => undefined;
      },
      commitOffsetsIfNecessary: async () => undefined,
      uncommittedOffsets: (): OffsetsByTopicPartition =>
        offsets.resolved !== null && offsets.resolved !== offsets.committed ? { topics: [{ topic, partitions: [{ partition, offset: offsets.resolved }] }] } : { topics: [] },
      isRunning: control.running ?? (() => true),
      isStale: control.stale ?? (() => false),
    },
  };
  return d;
}

/** A record as kafkajs hands it over: offset string, key/value bytes (null value = tombstone), v2 record batch fields. */
function record(offset: number, key: Row | null, value: Value): KafkaMessage {
  return {
    offset: String(offset),
    key: key === null ? null : Buffer.from(JSON.stringify(key)),
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    timestamp: String(1_700_000_000_000 + offset),
    attributes: 0,
    headers: {},
  };
}

describe('KafkaBatchHandler (kafkajs eachBatch → projection → GraphQL)', () => {
  let app: TestApp;
  let processor: ChangeBatchProcessor;
  const log = new DebeziumLog();
  let crm: TableRef;
  let billing: TableRef;
  let portal: TableRef;

  /** What the broker saw: commits and dead letters, each with the projection's state at that moment. */
  let commits: Array<{ offsets: TopicPartitionOffsetAndMetadata[]; customersInDb: string[] }>;
  let deadLetters: DeadLetter[];
  let warnings: string[];
  let watched: string[];
  let failCommits: number;
  const offsetsByPartition = new Map<string, PartitionOffsets>();

  const customersInDb = async (): Promise<string[]> => {
    const rows = (await app.db.query(`SELECT id FROM customer WHERE live AND id = ANY($1) ORDER BY id`, [watched])) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  };

  const sinks: KafkaSinks = {
    commit: async (offsets) => {
      if (failCommits > 0) {
        failCommits--;
        throw new Error('The coordinator is not available');
      }
      commits.push({ offsets, customersInDb: await customersInDb() });
      for (const o of offsets) {
        const p = offsetsByPartition.get(`${o.topic}[${o.partition}]`);
        if (p) p.committed = o.offset;
      }
    },
    deadLetter: async (messages) => {
      deadLetters.push(...messages);
    },
  };
  const logger = {
    debug: () => undefined,
    log: () => undefined,
    warn: (m: string) => warnings.push(m),
    error: (m: string) => warnings.push(m),
  };

  const handlerWith = (batchSize: number, handler: ChangeBatchHandler = processor) => new KafkaBatchHandler({ batchSize, retryMaxMs: 200, dlqTopic: 'statusview.dlq' }, handler, sinks, logger);

  /** A delivery whose partition offsets the commit sink keeps up to date. */
  const delivery = (t: string, partition: number, messages: KafkaMessage[], control: Parameters<typeof deliver>[3] = {}): Delivery => {
    const d = deliver(t, partition, messages, control);
    offsetsByPartition.set(`${t}[${partition}]`, d.offsets);
    return d;
  };

  const customer = async (id: string): Promise<Customer | null> => {
    const res = await gql<{ customer: Customer | null }>(app.url, Q, { id });
    expect(res.errors).toBeUndefined();
    return res.data?.customer ?? null;
  };

  const crmRow = (id: number, no: string, status: string): Row => ({ id, customer_no: no, email: `${no.toLowerCase()}@example.com`, status, updated_at: 1700000000000000 + id });
  const crmCreate = (id: number, no: string, status: string): Row => log.envelope(crm, 'c', null, crmRow(id, no, status));

  beforeAll(async () => {
    app = await TestApp.start();
    processor = app.running.app.get(ChangeBatchProcessor);
    // The refs the connectors would use, derived from the configured sources.
    const domain = app.running.app.get<DomainConfig>(DOMAIN_CONFIG);
    const ref = (name: string): TableRef => tableRefOf(domain.sources.systems.find((s) => s.name === name)!);
    [crm, billing, portal] = [ref('crm'), ref('billing'), ref('portal')];
  });
  afterAll(() => app?.stop());
  beforeEach(() => {
    commits = [];
    deadLetters = [];
    warnings = [];
    watched = [];
    failCommits = 0;
    offsetsByPartition.clear();
  });

  it('derives the same Debezium table refs from the configured sources as the test helpers use', () => {
    expect([crm, billing, portal]).toEqual([CRM, BILLING, PORTAL]);
  });

  it('applies plain and {schema, payload}-wrapped values, then commits the last offset + 1 once the projection holds them', async () => {
    watched = ['K1-CRM', 'K1-WRAP'];
    const d = delivery(crm.topic, 0, [
      record(4711, { id: 1101 }, crmCreate(1101, 'K1-CRM', 'DORMANT')),
      // Kafka Connect's default JsonConverter (schemas.enable=true) wraps key and value.
      record(4712, log.wrapped({ id: 1102 }), log.wrapped(crmCreate(1102, ' k1-wrap ', 'PROSPECT'))),
    ]);
    await handlerWith(500).eachBatch(d.payload);

    expect(commits).toEqual([{ offsets: [{ topic: crm.topic, partition: 0, offset: '4713' }], customersInDb: ['K1-CRM', 'K1-WRAP'] }]);
    expect(d.resolvedCalls).toEqual(['4712']);
    expect(d.payload.uncommittedOffsets()).toEqual({ topics: [] });
    expect(d.heartbeats).toBeGreaterThanOrEqual(1);
    expect(deadLetters).toEqual([]);
    expect(await customer('K1-CRM')).toMatchObject({ status: 'INACTIVE', reason: 'inactive', sources: [{ system: 'crm', recordKey: '1101', status: 'INACTIVE' }] });
    expect(await customer('k1-wrap')).toMatchObject({ id: 'K1-WRAP', status: 'PENDING', reason: 'pending', history: [{ from: null, to: 'PENDING', reason: 'pending' }] });
  });

  it('resolves one status from events of several topics, each batch committed on its own partition', async () => {
    watched = ['K2-1'];
    const handler = handlerWith(500);
    const crmDelivery = delivery(crm.topic, 2, [record(10, { id: 1201 }, crmCreate(1201, 'K2-1', 'ACTIVE'))]);
    await handler.eachBatch(crmDelivery.payload);
    expect(await customer('K2-1')).toMatchObject({ status: 'PENDING', reason: 'no-billing-yet' });

    const account = { account_id: 1201, cust_ref: ' k2-1 ', state: 1, balance_cents: 500, modified: 1700000000000 };
    const billingDelivery = delivery(billing.topic, 1, [record(77, { account_id: 1201 }, log.envelope(billing, 'c', null, account))]);
    await handler.eachBatch(billingDelivery.payload);

    expect(commits.map((c) => c.offsets)).toEqual([[{ topic: crm.topic, partition: 2, offset: '11' }], [{ topic: billing.topic, partition: 1, offset: '78' }]]);
    const c = await customer('K2-1');
    expect(c).toMatchObject({ status: 'AT_RISK', reason: 'at-risk' });
    expect(c?.sources.map((s) => [s.system, s.status])).toEqual([
      ['billing', 'AT_RISK'],
      ['crm', 'ACTIVE'],
    ]);
  });

  it('commits a batch larger than batchSize chunk by chunk, each commit after its chunk is in PostgreSQL and before the next is', async () => {
    watched = ['K3-1', 'K3-2', 'K3-3', 'K3-4', 'K3-5', 'K3-6', 'K3-7'];
    const messages = watched.map((no, i) => record(1000 + i, { id: 1300 + i }, crmCreate(1300 + i, no, 'DORMANT')));
    const d = delivery(crm.topic, 0, messages);
    await handlerWith(3).eachBatch(d.payload);

    expect(commits).toEqual([
      { offsets: [{ topic: crm.topic, partition: 0, offset: '1003' }], customersInDb: ['K3-1', 'K3-2', 'K3-3'] },
      { offsets: [{ topic: crm.topic, partition: 0, offset: '1006' }], customersInDb: ['K3-1', 'K3-2', 'K3-3', 'K3-4', 'K3-5', 'K3-6'] },
      { offsets: [{ topic: crm.topic, partition: 0, offset: '1007' }], customersInDb: watched },
    ]);
    expect(d.resolvedCalls).toEqual(['1002', '1005', '1006']);
    expect(d.heartbeats).toBeGreaterThanOrEqual(3);
    for (const id of watched) expect(await customer(id)).toMatchObject({ id, status: 'INACTIVE' });
  });

  it('applies a delete followed by its tombstone: the customer is gone, nothing is dead-lettered, the tombstone is committed', async () => {
    watched = ['K4-1'];
    const handler = handlerWith(500);
    const row = crmRow(1401, 'K4-1', 'ACTIVE');
    await handler.eachBatch(delivery(crm.topic, 0, [record(50, { id: 1401 }, log.envelope(crm, 'c', null, row))]).payload);
    expect(await customer('K4-1')).not.toBeNull();

    // PostgreSQL's default replica identity: the delete's `before` holds only the primary key.
    const d = delivery(crm.topic, 0, [record(51, { id: 1401 }, log.envelope(crm, 'd', { id: 1401 }, null)), record(52, { id: 1401 }, null)]);
    await handler.eachBatch(d.payload);

    expect(deadLetters).toEqual([]);
    expect(commits.map((c) => c.offsets[0].offset)).toEqual(['51', '53']);
    expect(commits[1].customersInDb).toEqual([]);
    expect(await customer('K4-1')).toBeNull();
  });

  it('commits a batch of tombstones alone without dead-lettering them', async () => {
    const d = delivery(portal.topic, 3, [record(8, { user_id: 'x' }, null), record(9, log.wrapped({ user_id: 'y' }), null)]);
    await handlerWith(500).eachBatch(d.payload);
    expect(deadLetters).toEqual([]);
    expect(commits.map((c) => c.offsets)).toEqual([[{ topic: portal.topic, partition: 3, offset: '10' }]]);
  });

  it('dead-letters a message that is not JSON with its reason and offset, and applies the valid ones around it', async () => {
    watched = ['K5-1', 'K5-2'];
    const junk = record(201, { id: 1502 }, '{"before": null, "after": {"id": 15');
    const d = delivery(crm.topic, 4, [record(200, { id: 1501 }, crmCreate(1501, 'K5-1', 'CLOSED')), junk, record(202, { id: 1503 }, crmCreate(1503, 'K5-2', 'PROSPECT'))]);
    await handlerWith(500).eachBatch(d.payload);

    expect(deadLetters).toEqual([
      {
        key: junk.key,
        value: junk.value,
        headers: expect.objectContaining({ 'x-error-code': 'NOT_JSON', 'x-error-reason': expect.stringMatching(/^not JSON/), 'x-original-offset': '201' }),
      },
    ]);
    expect(deadLetters[0].headers).toMatchObject({ 'x-original-topic': crm.topic, 'x-original-partition': '4' });
    expect(commits).toEqual([{ offsets: [{ topic: crm.topic, partition: 4, offset: '203' }], customersInDb: ['K5-1', 'K5-2'] }]);
    expect(await customer('K5-1')).toMatchObject({ status: 'CLOSED', reason: 'closed' });
    expect(await customer('K5-2')).toMatchObject({ status: 'PENDING', reason: 'pending' });
    // Logged once, naming where the message came from.
    expect(warnings.filter((w) => w.includes('dead-letter'))).toEqual([expect.stringMatching(new RegExp(`${crm.topic.replace(/\./g, '\\.')}.*partition 4.*offset 201`))]);
  });

  it('dead-letters a message on a topic no source is configured for, committing past it, and the next batches still apply', async () => {
    watched = ['K6-1', 'K6-2'];
    const handler = handlerWith(500);
    await handler.eachBatch(delivery(crm.topic, 0, [record(300, { id: 1601 }, crmCreate(1601, 'K6-1', 'DORMANT'))]).payload);

    const contracts: TableRef = { topic: 'legacy.crm.contracts', connector: 'postgresql', db: 'crm', schema: 'crm', table: 'contracts' };
    const stray = record(5, { id: 1 }, log.envelope(contracts, 'c', null, { id: 1, customer_no: 'K6-1', status: 'CLOSED' }));
    await handler.eachBatch(delivery(contracts.topic, 0, [stray]).payload);
    await handler.eachBatch(delivery(crm.topic, 0, [record(301, { id: 1602 }, crmCreate(1602, 'K6-2', 'DORMANT'))]).payload);

    expect(deadLetters).toEqual([
      {
        key: stray.key,
        value: stray.value,
        headers: expect.objectContaining({
          'x-error-code': 'UNKNOWN_TOPIC',
          'x-error-reason': expect.stringContaining('legacy.crm.contracts'),
          'x-original-offset': '5',
          'x-original-topic': 'legacy.crm.contracts',
        }),
      },
    ]);
    expect(commits.map((c) => c.offsets)).toEqual([
      [{ topic: crm.topic, partition: 0, offset: '301' }],
      [{ topic: 'legacy.crm.contracts', partition: 0, offset: '6' }],
      [{ topic: crm.topic, partition: 0, offset: '302' }],
    ]);
    // The stray CLOSED event did not reach K6-1.
    expect(await customer('K6-1')).toMatchObject({ status: 'INACTIVE' });
    expect(await customer('K6-2')).toMatchObject({ status: 'INACTIVE' });
  });

  it('dead-letters an event without a usable row while the rest of its chunk commits', async () => {
    watched = ['K7-1'];
    const bad = record(401, { id: 1702 }, log.envelope(crm, 'c', null, { id: 1702, customer_no: '   ', status: 'ACTIVE' }));
    const d = delivery(crm.topic, 0, [bad, record(402, { id: 1701 }, crmCreate(1701, 'K7-1', 'PROSPECT'))]);
    await handlerWith(500).eachBatch(d.payload);
    expect(deadLetters.map((m) => [m.headers['x-error-code'], m.headers['x-original-offset']])).toEqual([['NO_USABLE_ROW', '401']]);
    expect(commits).toEqual([{ offsets: [{ topic: crm.topic, partition: 0, offset: '403' }], customersInDb: ['K7-1'] }]);
  });

  it('dead-letters poison events at their offsets (a key too long, nesting too deep, an lsn of 1e21, text jsonb cannot hold) and applies the rest of the chunk', async () => {
    watched = ['K7P-BEFORE', 'K7P-AFTER'];
    const noise = (n: number) => randomBytes(n).toString('base64url').slice(0, n);
    const deep = log.envelope(crm, 'c', null, { id: 1711, customer_no: 'K7P-DEEP', email: '<deep>', status: 'ACTIVE' });
    const bigLsn = log.envelope(crm, 'c', null, { id: 1712, customer_no: 'K7P-LSN', email: null, status: 'ACTIVE' });
    const d = delivery(crm.topic, 0, [
      record(410, { id: 1710 }, crmCreate(1710, 'K7P-BEFORE', 'PROSPECT')),
      record(411, { id: 1713 }, crmCreate(1713, noise(3000), 'PROSPECT')),
      record(412, { id: 1711 }, JSON.stringify(deep).replace('"<deep>"', `${'['.repeat(5000)}${']'.repeat(5000)}`)),
      record(413, { id: 1712 }, JSON.stringify(bigLsn).replace('"lsn":', '"lsn":1e21,"was":')),
      record(414, { id: 1714 }, JSON.stringify(crmCreate(1714, 'K7P-SURROGATE', 'PROSPECT')).replace('"PROSPECT"', '"\\ud800"')),
      record(415, { id: 1715 }, crmCreate(1715, 'K7P-AFTER', 'PROSPECT')),
    ]);
    await handlerWith(500).eachBatch(d.payload);
    expect(deadLetters.map((m) => [m.headers['x-original-offset'], m.headers['x-error-code']])).toEqual([
      ['411', 'KEY_TOO_LONG'],
      ['412', 'TOO_DEEP'],
      ['413', 'BAD_POSITION'],
      ['414', 'REJECTED_BY_STORE'],
    ]);
    expect(deadLetters[3].headers['x-error-reason']).toMatch(/PostgreSQL 22P02/);
    expect(commits).toEqual([{ offsets: [{ topic: crm.topic, partition: 0, offset: '416' }], customersInDb: ['K7P-AFTER', 'K7P-BEFORE'] }]);
  });

  it('reports the consumer stalled while a chunk is retried and nothing settles, and not once it commits', async () => {
    watched = ['K8S-1'];
    let calls = 0;
    const seen: ConsumerProgressReport[] = [];
    const progress = new ConsumerProgress(50);
    const d = delivery(crm.topic, 0, [record(510, { id: 1811 }, crmCreate(1811, 'K8S-1', 'DORMANT'))]);
    const failing: ChangeBatchHandler = {
      handle: async (batch: readonly InboundMessage[]): Promise<MessageVerdict[]> => {
        seen.push(progress.report());
        if (++calls <= 3) throw new Error('permission denied for table source_record');
        return processor.handle(batch);
      },
    };
    expect(progress.report()).toMatchObject({ waiting: 0, stalled: false });
    await new KafkaBatchHandler({ batchSize: 500, retryMaxMs: 100, dlqTopic: 'statusview.dlq' }, failing, sinks, logger, progress).eachBatch(d.payload);
    expect(seen[0]).toMatchObject({ waiting: 1, stalled: false, lastError: null });
    // 100 + 100 + 100 ms of backoff later, the fourth attempt sees it stalled, with the reason.
    expect(seen[3]).toMatchObject({ waiting: 1, stalled: true, lastError: 'permission denied for table source_record' });
    expect(seen[3].stalledForMs).toBeGreaterThanOrEqual(50);
    expect(progress.report()).toEqual({ waiting: 0, stalledForMs: 0, stalled: false, lastError: null });
    expect(commits).toHaveLength(1);
  });

  it('commits nothing while the projection is failing, and commits once it succeeds', async () => {
    watched = ['K8-1'];
    let calls = 0;
    const committedWhileFailing: number[] = [];
    const d = delivery(crm.topic, 0, [record(500, { id: 1801 }, crmCreate(1801, 'K8-1', 'DORMANT')), record(501, { id: 1802 }, 'not json')]);
    const flaky: ChangeBatchHandler = {
      handle: async (batch: readonly InboundMessage[]): Promise<MessageVerdict[]> => {
        calls++;
        if (calls <= 2) {
          committedWhileFailing.push(commits.length, deadLetters.length, d.resolvedCalls.length);
          throw new ProjectionError('STORE_UNAVAILABLE', 'PostgreSQL: connect ECONNREFUSED 127.0.0.1:5432');
        }
        return processor.handle(batch);
      },
    };
    await handlerWith(500, flaky).eachBatch(d.payload);

    expect(calls).toBe(3);
    expect(committedWhileFailing).toEqual([0, 0, 0, 0, 0, 0]);
    expect(commits).toEqual([{ offsets: [{ topic: crm.topic, partition: 0, offset: '502' }], customersInDb: ['K8-1'] }]);
    expect(deadLetters.map((m) => m.headers['x-original-offset'])).toEqual(['501']);
    expect(await customer('K8-1')).toMatchObject({ status: 'INACTIVE' });
    expect(warnings.filter((w) => w.includes('not committed'))).toEqual([expect.stringContaining(`${crm.topic}[0]`)]);
  });

  it('stops without committing or projecting when the consumer is no longer running', async () => {
    watched = ['K9-1'];
    const d = delivery(crm.topic, 0, [record(600, { id: 1901 }, crmCreate(1901, 'K9-1', 'DORMANT'))], { running: () => false });
    await handlerWith(500).eachBatch(d.payload);
    expect(commits).toEqual([]);
    expect(d.resolvedCalls).toEqual([]);
    expect(await customersInDb()).toEqual([]);
    expect(await customer('K9-1')).toBeNull();
  });

  it('stops between chunks when the consumer stops, having committed only the chunks it applied', async () => {
    watched = ['K10-1', 'K10-2', 'K10-3'];
    let running = true;
    const d = delivery(
      crm.topic,
      0,
      watched.map((no, i) => record(700 + i, { id: 2000 + i }, crmCreate(2000 + i, no, 'DORMANT'))),
      { running: () => running },
    );
    const counting: ChangeBatchHandler = {
      handle: async (batch) => {
        const verdicts = await processor.handle(batch);
        running = false; // consumer.disconnect() while this chunk was in flight
        return verdicts;
      },
    };
    await handlerWith(2, counting).eachBatch(d.payload);
    expect(commits).toEqual([{ offsets: [{ topic: crm.topic, partition: 0, offset: '702' }], customersInDb: ['K10-1', 'K10-2'] }]);
    expect(await customer('K10-3')).toBeNull();
  });

  it('gives up retrying a failing projection once the consumer stops, without committing', async () => {
    let running = true;
    let calls = 0;
    const d = delivery(crm.topic, 0, [record(800, { id: 2101 }, crmCreate(2101, 'K11-1', 'DORMANT'))], { running: () => running });
    const down: ChangeBatchHandler = {
      handle: async () => {
        if (++calls === 2) running = false;
        throw new ProjectionError('STORE_UNAVAILABLE', 'PostgreSQL: Connection terminated unexpectedly');
      },
    };
    const outcome = await handlerWith(500, down)
      .eachBatch(d.payload)
      .then(
        () => null,
        (e: unknown) => e,
      );
    // Settling is what matters (kafkajs waits for it on disconnect); if it rejects, with the outage.
    if (outcome !== null) expect(outcome).toBeInstanceOf(ProjectionError);
    expect(calls).toBe(2);
    expect(commits).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(d.resolvedCalls).toEqual([]);
  });

  it('does not commit a partition that went stale (seek or rebalance) before its chunk', async () => {
    const d = delivery(crm.topic, 0, [record(900, { id: 2201 }, crmCreate(2201, 'K12-1', 'DORMANT'))], { stale: () => true });
    await handlerWith(500).eachBatch(d.payload);
    expect(commits).toEqual([]);
    expect(await customer('K12-1')).toBeNull();
  });

  it('after a failed commit, the redelivered batch changes nothing and is committed', async () => {
    watched = ['K13-1'];
    const handler = handlerWith(500);
    const account = { account_id: 2301, cust_ref: 'K13-1', state: 0, balance_cents: 0, modified: 1700000000000 };
    const messages = [
      record(40, { account_id: 2301 }, log.envelope(billing, 'c', null, account)),
      record(41, { account_id: 2301 }, log.envelope(billing, 'u', account, { ...account, state: 2, modified: 1700000001000 })),
    ];
    failCommits = 1;
    await expect(handler.eachBatch(delivery(billing.topic, 0, messages).payload)).rejects.toThrow('coordinator');
    expect(commits).toEqual([]);
    const before = await customer('K13-1');
    expect(before).toMatchObject({ status: 'SUSPENDED', history: [{ from: null, to: 'SUSPENDED', reason: 'suspended' }] });

    // kafkajs fetches again from the last committed offset: the same records, at least once.
    await handler.eachBatch(delivery(billing.topic, 0, messages).payload);
    expect(commits.map((c) => c.offsets)).toEqual([[{ topic: billing.topic, partition: 0, offset: '42' }]]);
    expect(await customer('K13-1')).toEqual(before);
  });
});

import { ChangeEventFactory, positionOf } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig } from '@app/config';
import { IngestChangesUseCase } from '@app/ingest';
import { SourceCheckpointStore } from '@app/projection';
import { gql, TestApp } from '@app/testing';

/**
 * Transports hand over change events, not a format's bytes: a change event built in memory (no
 * Debezium JSON anywhere) goes through the same ingest use case as the broker's, to GraphQL.
 * This is the way in that a replication stream, the binlog or a file reader takes.
 */
describe('the ingest use case, fed change events built in memory', () => {
  let app: TestApp;
  let ingest: IngestChangesUseCase;
  let events: ChangeEventFactory;
  let domain: DomainConfig;

  beforeAll(async () => {
    app = await TestApp.start();
    ingest = app.running.app.get(IngestChangesUseCase);
    domain = app.running.app.get<DomainConfig>(DOMAIN_CONFIG);
    events = new ChangeEventFactory(domain.sources, app.env.cdc.limits);
  });
  afterAll(() => app.stop());

  const system = (name: string) => domain.sources.systems.find((s) => s.name === name)!;
  const customer = async (id: string) =>
    (await gql<{ customer: { status: string; reason: string; sources: Array<{ system: string; position: string }> } | null }>(
      app.url,
      `query($id: ID!) { customer(id: $id) { status reason sources { system position } } }`,
      { id },
    )).data!.customer;

  it('projects a change, a later change and a truncate, and dead-letters what cannot be decoded, with the verdicts in order', async () => {
    const crm = system('crm');
    const billing = system('billing');
    const at = (lsn: number) => positionOf({ lsn: String(lsn), ts_ms: 1_700_000_000_000 + lsn }, null);
    const verdicts = await ingest.apply([
      { kind: 'event', event: events.changeOfRow(crm, 'c', { id: 1, customer_no: ' mem-1 ', email: null, status: 'ACTIVE', updated_at: 1 }, at(100)), ref: 'memory 1' },
      {
        kind: 'event',
        event: events.changeOfRow(billing, 'c', { account_id: 1, cust_ref: 'MEM-1', state: 1, balance_cents: 0, modified: 1 }, positionOf({ file: 'mysql-bin.000001', pos: 4, ts_ms: 1 }, null)),
        ref: 'memory 2',
      },
      { kind: 'skip', reason: 'heartbeat', ref: 'memory 3' },
      { kind: 'undecodable', code: 'BAD_KEY', reason: 'record key column "id" is an object', ref: 'memory 4' },
    ]);
    expect(verdicts).toEqual([
      { kind: 'done' },
      { kind: 'done' },
      { kind: 'done' },
      { kind: 'dead-letter', code: 'BAD_KEY', reason: 'record key column "id" is an object' },
    ]);
    expect(await customer('MEM-1')).toEqual({
      status: 'AT_RISK',
      reason: 'at-risk',
      sources: [
        { system: 'billing', position: 'mysql-bin.000001:4:0' },
        { system: 'crm', position: 'lsn:100' },
      ],
    });

    await ingest.apply([{ kind: 'event', event: events.truncate(billing, positionOf({ file: 'mysql-bin.000001', pos: 10, ts_ms: 2 }, null)), ref: 'memory 5' }]);
    expect(await customer('MEM-1')).toMatchObject({ status: 'PENDING', reason: 'no-billing-yet', sources: [{ system: 'crm', position: 'lsn:100' }] });
  });

  // PostgreSQL's replication leaves out a TOASTed value an update did not change: the stored one stands,
  // also when the rules read it (the record is then mapped again from what is stored).
  it('keeps the stored value of a column a change left out, for the raw fields and the mapping', async () => {
    const crm = system('crm');
    const at = (lsn: number) => positionOf({ lsn: String(lsn), ts_ms: 1_700_000_000_000 + lsn }, null);
    await ingest.apply([{ kind: 'event', event: events.changeOfRow(crm, 'c', { id: 2, customer_no: 'MEM-2', email: 'long', status: 'DORMANT', updated_at: 1 }, at(200)), ref: 'memory 6' }]);
    const partial = { ...events.changeOfRow(crm, 'u', { id: 2, customer_no: 'MEM-2', updated_at: 2 }, at(201)), unchanged: ['email', 'status'] };
    expect(await ingest.apply([{ kind: 'event', event: partial, ref: 'memory 7' }])).toEqual([{ kind: 'done' }]);
    const c = (await gql<{ customer: { status: string; sources: Array<{ raw: string; position: string }> } }>(app.url, `{ customer(id: "MEM-2") { status sources { raw position } } }`)).data!.customer;
    expect(c.status).toBe('INACTIVE');
    expect(c.sources.map((r) => ({ ...r, raw: JSON.parse(r.raw) as unknown }))).toEqual([
      { raw: { id: 2, email: 'long', status: 'DORMANT', updated_at: 2, customer_no: 'MEM-2' }, position: 'lsn:201' },
    ]);
  });

  describe('the checkpoint of a source without a broker', () => {
    const binlog = (pos: number) => positionOf({ file: 'mysql-bin.000007', pos, row: 0, ts_ms: 1_700_000_000_000 }, null);
    const checkpointOf = async (source: string) => (await app.running.app.get(SourceCheckpointStore).last(source))?.position.text ?? null;
    const row = (id: number, email: string | null) => events.changeOfRow(system('crm'), 'c', { id, customer_no: `CP-${id}`, email, status: 'ACTIVE', updated_at: 1 }, positionOf({ lsn: String(5000 + id), ts_ms: 1 }, null));

    it('is committed with the batch, also an empty one, and never moves back', async () => {
      await ingest.apply([{ kind: 'event', event: row(1, null), ref: 'cp 1' }], { checkpoint: { source: 'cp-a', position: binlog(400) } });
      expect(await checkpointOf('cp-a')).toBe('mysql-bin.000007:400:0');
      await ingest.apply([], { checkpoint: { source: 'cp-a', position: binlog(500), gtid: '0-1-9' } });
      expect(await checkpointOf('cp-a')).toBe('mysql-bin.000007:500:0');
      await ingest.apply([{ kind: 'event', event: row(2, null), ref: 'cp 2' }], { checkpoint: { source: 'cp-a', position: binlog(450) } });
      expect(await checkpointOf('cp-a')).toBe('mysql-bin.000007:500:0');
      expect(await customer('CP-2')).toMatchObject({ status: 'PENDING' });
    });

    it("is committed when the store refuses the batch's last event (the batch split to find it)", async () => {
      // A lone surrogate, which jsonb cannot hold: PostgreSQL refuses that event alone (22P02).
      const verdicts = await ingest.apply(
        [
          { kind: 'event', event: row(3, null), ref: 'cp 3' },
          { kind: 'event', event: row(4, '\ud800'), ref: 'cp 4' },
        ],
        { checkpoint: { source: 'cp-b', position: binlog(900) } },
      );
      expect(verdicts.map((v) => v.kind)).toEqual(['done', 'dead-letter']);
      expect(await checkpointOf('cp-b')).toBe('mysql-bin.000007:900:0');
      expect(await customer('CP-3')).toMatchObject({ status: 'PENDING' });
    });
  });
});

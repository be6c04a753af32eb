import { Row } from '@app/cdc';
import { CRM, gql, TestApp, waitFor } from '@app/testing';

/**
 * A failure that would refuse every event alike is not the events' fault: they are not
 * dead-lettered, the batch is retried, and /health and /metrics show the consumer stalled until
 * the store is fixed; then everything waiting is applied.
 */
describe('a consumer that cannot make progress', () => {
  const row = (id: number, customerNo: string): Row => ({ id, customer_no: customerNo, email: null, status: 'ACTIVE', updated_at: 1 });
  const status = async (app: TestApp, id: string) =>
    (await gql<{ customer: { status: string } | null }>(app.url, `query($id: ID!) { customer(id: $id) { status } }`, { id })).data?.customer?.status;
  const health = async (app: TestApp) => {
    const res = await fetch(`${app.url}/health`);
    const body = (await res.json()) as { details: { consumer: { status: string; message?: string; stalledForSeconds?: number; waiting?: number } } };
    return { status: res.status, consumer: body.details.consumer };
  };
  const sample = async (app: TestApp, series: string): Promise<number | undefined> => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  describe('when a table the store writes is gone (renamed)', () => {
    let app: TestApp;
    let renamed = false;
    const rename = async (from: string, to: string) => {
      await app.db.query(`ALTER TABLE ${from} RENAME TO ${to}`);
      renamed = !renamed;
    };
    beforeAll(async () => {
      app = await TestApp.start({ CDC_STALL_AFTER_MS: '1000' });
    });
    afterAll(async () => {
      if (renamed) await rename('source_truncate_away', 'source_truncate');
      await app.stop();
    });

    it('retries without dead-lettering, reports the consumer stalled with how long and why, and is healthy again once it progresses', async () => {
      await app.event(CRM, 'c', null, row(1, 'S-BEFORE'));
      await waitFor(async () => (await status(app, 'S-BEFORE')) === 'PENDING', 'the event before the failure');
      expect(await health(app)).toMatchObject({ status: 200, consumer: { status: 'up' } });
      expect(await sample(app, 'statusview_consumer_stalled')).toBe(0);

      await rename('source_truncate', 'source_truncate_away');
      await app.event(CRM, 'c', null, row(2, 'S-DURING-1'));
      await app.event(CRM, 'c', null, row(3, 'S-DURING-2'));

      const stalled = await waitFor(async () => {
        const h = await health(app);
        return h.status === 503 ? h : undefined;
      }, 'the consumer reported stalled', 5000);
      expect(stalled.consumer).toMatchObject({ status: 'down', waiting: 2 });
      expect(stalled.consumer.stalledForSeconds).toBeGreaterThanOrEqual(1);
      expect(stalled.consumer.message).toMatch(/^stalled: no batch settled for \d+ s while 2 messages wait; last error: relation "source_truncate" does not exist/);
      expect(await sample(app, 'statusview_consumer_stalled')).toBe(1);
      expect(await sample(app, 'statusview_consumer_stall_seconds')).toBeGreaterThanOrEqual(1);
      expect(await status(app, 'S-DURING-1')).toBeUndefined();
      expect(await app.drainDeadLetters()).toEqual([]);

      await rename('source_truncate_away', 'source_truncate');
      await waitFor(async () => (await status(app, 'S-DURING-2')) === 'PENDING', 'the events that waited', 5000);
      expect(await status(app, 'S-DURING-1')).toBe('PENDING');
      await waitFor(async () => (await health(app)).status === 200, 'healthy again');
      expect(await sample(app, 'statusview_consumer_stalled')).toBe(0);
      expect(await sample(app, 'statusview_consumer_stall_seconds')).toBe(0);
      expect(await app.drainDeadLetters()).toEqual([]);
    });
  });

  describe('when a constraint refuses every event alike with a data error', () => {
    let app: TestApp;
    let constrained = false;
    beforeAll(async () => {
      app = await TestApp.start({ CDC_STALL_AFTER_MS: '1000', CDC_MAX_REFUSALS_IN_A_ROW: '3' });
    });
    afterAll(async () => {
      if (constrained) await app.db.query(`ALTER TABLE source_record DROP CONSTRAINT refuse_all`);
      await app.stop();
    });

    it('dead-letters no more than CDC_MAX_REFUSALS_IN_A_ROW events, then stops and retries until the store accepts events again', async () => {
      // A check every new row fails: PostgreSQL answers 23514, a data error, for each event alike.
      await app.db.query(`ALTER TABLE source_record ADD CONSTRAINT refuse_all CHECK (record_key = '') NOT VALID`);
      constrained = true;
      const ids = Array.from({ length: 8 }, (_, i) => `R-${i}`);
      for (const [i, id] of ids.entries()) await app.event(CRM, 'c', null, row(100 + i, id));

      const stalled = await waitFor(async () => {
        const h = await health(app);
        return h.status === 503 ? h : undefined;
      }, 'the consumer reported stalled', 5000);
      expect(stalled.consumer.message).toMatch(/the store refused 3 events in a row, none accepted between them \(CDC_MAX_REFUSALS_IN_A_ROW=3\)/);
      expect(stalled.consumer.message).toMatch(/PostgreSQL 23514/);
      const dead = await app.drainDeadLetters();
      expect(dead.length).toBeLessThanOrEqual(3);

      await app.db.query(`ALTER TABLE source_record DROP CONSTRAINT refuse_all`);
      constrained = false;
      // A batch refused before the stop settles (and sends its dead letters) only after the batches
      // before it, so dead letters may still come once the store accepts events again.
      const customerOf = (d: { body: string }) => (JSON.parse(d.body) as { after: Row }).after.customer_no as string;
      await waitFor(async () => {
        dead.push(...(await app.drainDeadLetters()));
        const deadIds = new Set(dead.map(customerOf));
        for (const id of ids) if (!deadIds.has(id) && (await status(app, id)) !== 'PENDING') return false;
        return true;
      }, 'every event applied or dead-lettered', 5000);
      expect(dead.length).toBeLessThanOrEqual(3);
      for (const d of dead) expect(d.headers['x-error-reason']).toMatch(/the store refused it: PostgreSQL 23514/);
      await waitFor(async () => (await health(app)).status === 200, 'healthy again');
      expect(await app.drainDeadLetters()).toEqual([]);
    });
  });
});

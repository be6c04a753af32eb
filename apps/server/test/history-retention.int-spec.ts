import { startApp } from '@app/bootstrap';
import { HistoryRetention } from '@app/projection';
import { CRM, gql, TestApp, testEnv, waitFor } from '@app/testing';

/** History retention: old status changes go, in the background and in batches; GraphQL says so. */
describe('history retention', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Batches of 100 ids: the test's history takes several.
    app = await TestApp.start({ HISTORY_KEEP_DAYS: '30', HISTORY_RETENTION_BATCH: '100' });
  });
  afterAll(() => app.stop());

  const crm = (id: number, customer: string, status: string) => ({ id, customer_no: customer, email: null, status, updated_at: id });
  const removedTotal = (metrics: string) => Number(/^statusview_history_rows_removed_total (\d+)/m.exec(metrics)?.[1] ?? 0);
  type Customer = { status: string; history: Array<{ from: string | null; to: string; at: string }>; historyTrimmedUntil: string | null };
  const read = async (id: string) =>
    (await gql<{ customer: Customer | null }>(app.url, 'query($id: ID!) { customer(id: $id) { status history(first: 500) { from to at } historyTrimmedUntil } }', { id })).data!.customer!;

  it('removes the changes older than the retention, batch by batch, keeps the rest, and says whose history is not whole', async () => {
    // 150 customers created 40 days ago (as far as their history says), MIX created then and
    // changed today, NEW created today.
    for (let i = 0; i < 150; i++) await app.event(CRM, 'c', null, crm(100 + i, `OLD-${i}`, 'ACTIVE'));
    await app.event(CRM, 'c', null, crm(1, 'MIX', 'ACTIVE'));
    await waitFor(async () => (await read('MIX'))?.history.length === 1 && (await read('OLD-149'))?.history.length === 1, 'the customers created');
    const old = new Date(Date.now() - 40 * 86_400_000);
    await app.db.query(`UPDATE status_history SET at = $1::timestamptz - (1000 - id % 1000) * interval '1 second'`, [old]);
    await app.event(CRM, 'u', null, crm(1, 'MIX', 'DORMANT'));
    await app.event(CRM, 'c', null, crm(2, 'NEW', 'ACTIVE'));
    await waitFor(async () => (await read('MIX'))?.history.length === 2 && (await read('NEW'))?.history.length === 1, 'the changes of today');

    const before = removedTotal(await (await fetch(`${app.url}/metrics`)).text());
    const result = await app.running.app.get(HistoryRetention).trim();

    expect(result.removed).toBe(151);
    const mix = await read('MIX');
    expect(mix.history).toEqual([expect.objectContaining({ from: 'PENDING', to: mix.status })]);
    expect(new Date(mix.history[0].at).getTime()).toBeGreaterThan(Date.now() - 86_400_000);
    expect(mix.historyTrimmedUntil).not.toBeNull();
    expect(new Date(mix.historyTrimmedUntil!).getTime()).toBeLessThanOrEqual(old.getTime());
    expect(await read('OLD-7')).toMatchObject({ status: 'PENDING', history: [], historyTrimmedUntil: mix.historyTrimmedUntil });
    expect(await read('NEW')).toMatchObject({ historyTrimmedUntil: null, history: [{ from: null, to: 'PENDING' }] });
    expect(removedTotal(await (await fetch(`${app.url}/metrics`)).text()) - before).toBe(151);

    // Nothing old is left: the next round removes nothing.
    expect((await app.running.app.get(HistoryRetention).trim()).removed).toBe(0);
  });

  it('keeps everything when retention is off (HISTORY_KEEP_DAYS=0)', async () => {
    const rows = await app.db.query(`SELECT count(*)::int AS n FROM status_history`);
    await app.db.query(`UPDATE status_history SET at = now() - interval '10 years'`);
    expect((await app.running.app.get(HistoryRetention).trim(0)).removed).toBe(0);
    expect(await app.db.query(`SELECT count(*)::int AS n FROM status_history`)).toEqual(rows);
  });

  it('keeps the newest N changes of each customer (HISTORY_KEEP_CHANGES), over several batches of customers', async () => {
    // ZCAP sorts after the 150 OLD customers: its batch is not the first.
    // One change at a time: a batch applies only the newest change of a record.
    const changes = async (key: number, id: string, n: number) => {
      for (let k = 0; k < n; k++) {
        await app.event(CRM, k === 0 ? 'c' : 'u', null, crm(key, id, k % 2 === 0 ? 'ACTIVE' : 'DORMANT'));
        await waitFor(async () => (await read(id))?.history.length === k + 1, `change ${k + 1} of ${id}`);
      }
    };
    await changes(500, 'CAP', 6);
    await changes(501, 'ZCAP', 6);
    await changes(502, 'FEW', 2);
    const cap = await read('CAP');

    const result = await app.running.app.get(HistoryRetention).trim(0, 3);

    expect(result.removed).toBe(6);
    for (const id of ['CAP', 'ZCAP']) {
      const c = await read(id);
      expect(c.history).toEqual(cap.history.slice(0, 3).map((h) => ({ ...h, at: expect.any(String) })));
      expect(c.historyTrimmedUntil).not.toBeNull();
    }
    expect(await read('FEW')).toMatchObject({ historyTrimmedUntil: null, history: [{ from: 'PENDING', to: 'INACTIVE' }, { from: null, to: 'PENDING' }] });
    expect((await app.running.app.get(HistoryRetention).trim(0, 3)).removed).toBe(0);
  });

  it('two instances trimming at once remove each change once and count it once', async () => {
    // A second instance on the same database, trimming while this one does.
    const other = await startApp({ api: true, ingest: false }, { env: testEnv({ HISTORY_KEEP_DAYS: '30', HISTORY_RETENTION_BATCH: '100' }), logger: false });
    try {
      for (let k = 0; k < 4; k++) {
        for (let i = 0; i < 40; i++) await app.event(CRM, k === 0 ? 'c' : 'u', null, crm(1000 + i, `TWO-${i}`, k % 2 === 0 ? 'ACTIVE' : 'DORMANT'));
        await waitFor(async () => (await read('TWO-39'))?.history.length === k + 1 && (await read('TWO-0'))?.history.length === k + 1, `round ${k + 1} of changes`);
      }
      const [{ n: before }] = await app.db.query(`SELECT count(*)::int AS n FROM status_history`);
      const [{ removed: counted }] = await app.db.query(`SELECT coalesce(sum(removed), 0)::int AS removed FROM history_retention`);
      const rounds = await Promise.all([app.running.app.get(HistoryRetention).trim(0, 1), other.app.get(HistoryRetention).trim(0, 1)]);
      // Whatever one round skipped (the lock was the other's), a last round finishes.
      const last = await app.running.app.get(HistoryRetention).trim(0, 1);
      const removed = rounds[0].removed + rounds[1].removed + last.removed;

      const [{ n: after }] = await app.db.query(`SELECT count(*)::int AS n FROM status_history`);
      expect(before - after).toBe(removed);
      expect(removed).toBeGreaterThanOrEqual(40 * 3);
      const [{ removed: countedAfter }] = await app.db.query(`SELECT coalesce(sum(removed), 0)::int AS removed FROM history_retention`);
      expect(countedAfter - counted).toBe(removed);
      const [{ n: over }] = await app.db.query(`SELECT count(*)::int AS n FROM (SELECT customer_id FROM status_history GROUP BY customer_id HAVING count(*) > 1) x`);
      expect(over).toBe(0);
      expect((await read('TWO-7')).history).toEqual([expect.objectContaining({ from: 'PENDING', to: 'INACTIVE' })]);
    } finally {
      await other.close();
    }
  });
});

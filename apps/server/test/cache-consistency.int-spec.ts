import { CustomerReader } from '@app/projection';
import { BILLING, CRM, gql, PORTAL, TestApp, waitFor } from '@app/testing';

/** Redis is a cache: flushing or evicting it changes no answer, and every answer equals PostgreSQL. */
const Q = `query($ids: [ID!]!) { customers(ids: $ids) { id status reason statusSince updatedAt
  sources { system recordKey status rule raw sourceTimestamp position } } }`;

describe('cache consistency', () => {
  let app: TestApp;
  const ids = Array.from({ length: 30 }, (_, i) => `K-${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    app = await TestApp.start();
    for (let i = 0; i < ids.length; i++) {
      await app.event(CRM, 'c', null, { id: i, customer_no: ids[i], email: null, status: ['ACTIVE', 'DORMANT', 'PROSPECT'][i % 3], updated_at: 1700000000000000 + i });
      if (i % 2 === 0) await app.event(BILLING, 'c', null, { account_id: i, cust_ref: ids[i].toLowerCase(), state: i % 4, balance_cents: i, modified: 1700000000000 + i });
      if (i % 5 === 0) {
        await app.event(PORTAL, 'c', null, { user_id: `10000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`, customer_no: ids[i], registered_at: '2024-01-01T00:00:00Z', first_login_at: null, locked: i % 10 === 0 });
      }
    }
    await waitFor(async () => {
      const r = await gql<{ customers: Array<{ sources: unknown[] } | null> }>(app.url, Q, { ids });
      return r.data?.customers.every((c, i) => c !== null && c.sources.length === 1 + Number(i % 2 === 0) + Number(i % 5 === 0));
    }, 'all customers projected');
  });
  afterAll(() => app.stop());

  const answer = async () => (await gql<{ customers: Array<Record<string, unknown> | null> }>(app.url, Q, { ids: [...ids, 'K-NONE'] })).data!.customers;

  it('gives the same answers from a warm cache, after a flush, and after the refill', async () => {
    const warm = await answer();
    expect(warm.filter((c) => c !== null)).toHaveLength(ids.length);
    expect(warm[ids.length]).toBeNull();
    await app.clearRedis();
    expect(await app.redis.keys(`${app.env.redis.prefix}*`)).toEqual([]);
    expect(await answer()).toEqual(warm);
    await waitFor(async () => (await app.redis.keys(`${app.env.redis.prefix}*`)).length >= ids.length, 'cache refilled');
    expect(await answer()).toEqual(warm);
  });

  it('answers exactly what PostgreSQL holds', async () => {
    const fromDb = await app.running.app.get(CustomerReader).loadFromDatabase(ids);
    const graphql = await answer();
    ids.forEach((id, i) => {
      const view = fromDb.get(id)?.view;
      expect(view).toBeDefined();
      const { version: _v, ruleSetVersion: _r, ...shape } = view!;
      expect(graphql[i]).toEqual(shape);
    });
  });

  it('survives eviction of single entries (as maxmemory LRU would do)', async () => {
    const warm = await answer();
    await app.redis.del(...ids.filter((_, i) => i % 3 === 0).map((id) => `${app.env.redis.prefix}customer:${id}`));
    expect(await answer()).toEqual(warm);
  });

  it('never serves an entry of another format (an older deploy), and replaces it on the refill', async () => {
    const warm = await answer();
    const key = `${app.env.redis.prefix}customer:${ids[0]}`;
    const current = (await app.redis.get(key)) ?? '';
    // What a deploy with another shape would have left: an entry without a format, and one of format 0 at a higher version.
    const oldShape = JSON.stringify({ id: ids[0], state: 'GONE', sources: [] });
    await app.redis.set(key, `999|${oldShape}`);
    await app.redis.set(`${app.env.redis.prefix}customer:${ids[1]}`, `0:999|${oldShape}`);
    expect(await answer()).toEqual(warm);
    await waitFor(async () => (await app.redis.get(key))?.startsWith(current.slice(0, current.indexOf('|') + 1)), 'the entry replaced');
    expect(await app.redis.get(`${app.env.redis.prefix}customer:${ids[1]}`)).not.toMatch(/^0:/);
  });
});

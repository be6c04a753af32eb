import Redis from 'ioredis';
import { Client } from 'pg';
import { fromRoot, loadDomainConfig } from '@app/config';
import { CustomerCache, CustomerView, RedisKeys, VIEW_FORMAT } from '@app/projection';
import { testEnv } from '@app/testing';
import { RedisMemory } from '../src/cache/redis-memory';

/** The cached view's encoding against real Redis and PostgreSQL's own jsonb text. */
describe('CustomerCache', () => {
  const env = testEnv();
  const keys = new RedisKeys(env.redis.prefix);
  let redis: Redis;
  let pg: Client;
  let cache: CustomerCache;

  beforeAll(async () => {
    redis = new Redis(env.redis.url);
    pg = new Client({ connectionString: env.database.url });
    await pg.connect();
    cache = new CustomerCache(redis, keys, new RedisMemory(redis), loadDomainConfig(fromRoot('config')));
  });

  afterAll(async () => {
    const left = await redis.keys(`${env.redis.prefix}*`);
    if (left.length) await redis.del(...left);
    redis.disconnect();
    await pg.end();
  });

  /** The raw fields as `raw::text` gives them to the read path that misses Redis. */
  const jsonbText = async (json: string) => (await pg.query<{ t: string }>('SELECT $1::jsonb::text AS t', [json])).rows[0].t;

  const viewOf = (id: string, raws: string[]): CustomerView => ({
    id,
    status: 'ACTIVE',
    reason: 'active',
    statusSince: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-02T00:00:00.000Z',
    version: 3,
    ruleSetVersion: 1,
    sources: raws.map((raw, i) => ({
      system: 'crm',
      recordKey: String(i + 1),
      status: 'ACTIVE',
      rule: 'crm-active',
      raw,
      sourceTimestamp: '2024-01-02T00:00:00.000Z',
      position: `lsn:${i}`,
    })),
  });

  it('reads back exactly what PostgreSQL gives, the raw text included, for values JSON.parse would change', async () => {
    const raws = await Promise.all(
      [
        '{"id": 1, "email": "c1@example.com", "status": "ACTIVE", "updated_at": 1672531201000000, "customer_no": "C-1"}',
        '{"id": 12345678901234567890, "email": null, "status": "ACTIVE", "updated_at": 1.0, "customer_no": "C-1"}',
        '{"id": 2, "email": "é \\"quoted\\" \\\\ tab\\t", "status": "A", "updated_at": 1e3, "customer_no": "c-1 "}',
        '{"10": "x", "b": {"2": [1.50, -0, 1E-7]}, "id": 3}',
        '[1, "two"]',
        '"text"',
      ].map(jsonbText),
    );
    const view = viewOf('C-1', raws);
    await cache.write([{ id: 'C-1', version: 3, view }]);
    const [entry] = await cache.read(['C-1']);
    expect(JSON.stringify(entry)).toBe(JSON.stringify({ version: 3, view }));
    expect(((await redis.get(keys.customer('C-1'))) ?? '').length).toBeLessThan(JSON.stringify(view).length);
  });

  it('marks a customer that no longer exists', async () => {
    await cache.write([{ id: 'C-2', version: 4, view: null }]);
    expect(await cache.read(['C-2', 'C-NONE'])).toEqual([{ version: 4, view: null }, undefined]);
  });

  it('treats an entry of another format as a miss, and any write replaces it even at a lower version', async () => {
    const key = keys.customer('C-3');
    const old = `1:99|${JSON.stringify(viewOf('C-3', ['{"id": 1}']))}`;
    for (const stale of [old, `${VIEW_FORMAT}000000:99|[]`, `99|{}`]) {
      await redis.set(key, stale);
      expect(await cache.read(['C-3'])).toEqual([undefined]);
      await cache.write([{ id: 'C-3', version: 2, view: viewOf('C-3', []) }]);
      const value = await redis.get(key);
      expect(value).toMatch(new RegExp(`^${cache.formatPrefix}2\\|`));
      expect((await cache.read(['C-3']))[0]?.view?.id).toBe('C-3');
    }
  });

  it('never puts an older version over a newer one of the same format', async () => {
    await cache.write([{ id: 'C-4', version: 5, view: viewOf('C-4', []) }]);
    await cache.write([{ id: 'C-4', version: 4, view: { ...viewOf('C-4', []), status: 'CLOSED' } }]);
    expect((await cache.read(['C-4']))[0]).toMatchObject({ version: 5, view: { status: 'ACTIVE' } });
  });
});

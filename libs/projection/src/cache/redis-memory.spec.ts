import { isOutOfMemory, memoryAdvice } from './redis-memory';

describe('memoryAdvice', () => {
  it.each([
    { maxBytes: 0, policy: 'noeviction', says: [/no memory limit/, /noeviction/, /Set maxmemory .* and maxmemory-policy allkeys-lru/] },
    { maxBytes: 0, policy: 'allkeys-lru', says: [/no memory limit/, /Set maxmemory/] },
    { maxBytes: 32 << 20, policy: 'noeviction', says: [/noeviction: when full it refuses writes/, /allkeys-lru/] },
    { maxBytes: 32 << 20, policy: 'volatile-lru', says: [/volatile-lru: the cache's keys have no expiry/] },
  ])('warns for maxmemory $maxBytes, $policy', ({ maxBytes, policy, says }) => {
    const advice = memoryAdvice({ maxBytes, policy });
    for (const s of says) expect(advice).toMatch(s);
  });

  it.each(['allkeys-lru', 'allkeys-lfu', 'allkeys-random'])('is silent with a limit and %s', (policy) => {
    expect(memoryAdvice({ maxBytes: 256 << 20, policy })).toBeNull();
  });
});

describe('isOutOfMemory', () => {
  it('knows Redis OOM refusal from other errors', () => {
    expect(isOutOfMemory(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBe(true);
    expect(isOutOfMemory(new Error('Connection is closed.'))).toBe(false);
    expect(isOutOfMemory('OOM')).toBe(false);
  });
});

import { depthExceededAt } from './json-depth';

describe('depthExceededAt', () => {
  it.each<[string, string, number, number]>([
    ['a flat object within 1', '{"a":1}', 1, -1],
    ['an object in an array beyond 1', '[{"a":1}]', 1, 1],
    ['an object in an array within 2', '[{"a":1}]', 2, -1],
    ['siblings do not add up', '{"a":[1],"b":{"c":[2]},"d":[[3]]}', 3, -1],
    ['the deepest sibling counts', '{"a":[1],"b":{"c":[[2]]}}', 3, 19],
    ['brackets inside a string do not count', '{"a":"[[[[{{{{"}', 1, -1],
    ['an escaped quote does not end the string', '{"a":"x\\"[[[["}', 1, -1],
    ['an escaped backslash before the closing quote ends it', '{"a":"x\\\\","b":[[1]]}', 2, 16],
    ['three backslashes then a quote: still inside', '{"a":"\\\\\\"[[","b":1}', 1, -1],
    ['5,000 nested arrays', `${'['.repeat(5000)}${']'.repeat(5000)}`, 64, 64],
    ['an unterminated string is left to JSON.parse', '{"a":"[[[[', 1, -1],
    ['a scalar', '42', 1, -1],
    ['empty text', '', 1, -1],
  ])('%s', (_name, text, max, expected) => {
    expect(depthExceededAt(text, max)).toBe(expected);
  });

  it('agrees with the depth JSON.parse builds, for values nested any way', () => {
    const depthOf = (v: unknown): number =>
      typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf)) : 0;
    for (let seed = 1; seed <= 200; seed++) {
      let x = seed;
      const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const build = (level: number): unknown => {
        const r = next();
        if (level > 12 || r < 0.3) return ['a', 1, '"[{', '\\', null][Math.floor(next() * 5)];
        if (r < 0.65) return Array.from({ length: 1 + Math.floor(next() * 3) }, () => build(level + 1));
        return Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 3) }, (_, i) => [`k${i}"[`, build(level + 1)]));
      };
      const value = build(0);
      const text = JSON.stringify(value);
      const depth = depthOf(value);
      expect(depthExceededAt(text, depth)).toBe(-1);
      if (depth > 0) expect(depthExceededAt(text, depth - 1)).toBeGreaterThanOrEqual(0);
    }
  });
});

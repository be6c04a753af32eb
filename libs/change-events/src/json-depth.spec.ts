import { exceedsDepth } from './json-depth';

const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('exceedsDepth', () => {
  it.each<[string, string, number, boolean]>([
    ['a scalar', '42', 0, false],
    ['a flat object within 1', '{"a":1}', 1, false],
    ['an empty array beyond 0', '[]', 0, true],
    ['an object in an array beyond 1', '[{"a":1}]', 1, true],
    ['an object in an array within 2', '[{"a":1}]', 2, false],
    ['siblings do not add up', '{"a":[1],"b":{"c":[2]},"d":[[3]]}', 3, false],
    ['the deepest sibling counts', '{"a":[1],"b":{"c":[[2]]}}', 3, true],
    ['the deepest sibling, last of many', `{"a":[1],"b":2,"c":[${'{"x":1},'.repeat(50)}{"y":[[[1]]]}]}`, 4, true],
    ['brackets inside a string do not count', '{"a":"[[[[{{{{"}', 1, false],
    ['5,000 nested arrays beyond 64', nested(5000), 64, true],
  ])('%s', (_name, text, max, expected) => {
    expect(exceedsDepth(JSON.parse(text), max)).toBe(expected);
  });

  it('agrees with a recursive count of the depth, for values nested any way', () => {
    const depthOf = (v: unknown): number =>
      typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf)) : 0;
    for (let seed = 1; seed <= 200; seed++) {
      let x = seed;
      const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const build = (level: number): unknown => {
        const r = next();
        if (level > 12 || r < 0.3) return ['a', 1, '"[{', null][Math.floor(next() * 4)];
        if (r < 0.65) return Array.from({ length: 1 + Math.floor(next() * 3) }, () => build(level + 1));
        return Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 3) }, (_, i) => [`k${i}`, build(level + 1)]));
      };
      const value = build(0);
      const depth = depthOf(value);
      expect(exceedsDepth(value, depth)).toBe(false);
      if (depth > 0) expect(exceedsDepth(value, depth - 1)).toBe(true);
    }
  });

  // The decoder relies on this: V8 parses without recursion, so the depth is checked after parsing.
  it('runs after a JSON.parse of the deepest value a message of 1 MiB can hold', () => {
    const value: unknown = JSON.parse(nested(512 * 1024));
    expect(exceedsDepth(value, 64)).toBe(true);
  });
});

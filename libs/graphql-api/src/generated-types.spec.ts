import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_GENERATED_TYPES, GENERATED_TYPES, generateTypes } from './generate-types';

/**
 * The SDL in schema/ is the contract and the checked-in types are generated from it: regenerate
 * them aside and fail when they differ, so that a schema change without `npm run graphql:types`
 * cannot go unnoticed.
 */
describe('generated GraphQL types', () => {
  let dir: string;
  let log: jest.SpyInstance;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'statusview-graphql-types-'));
    // The generator announces "The definitions have been updated." on stdout; not a problem.
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterAll(() => {
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['libs/graphql-api/src/generated/graphql.ts', GENERATED_TYPES],
    ['apps/console/src/api/generated/graphql.ts', CONSOLE_GENERATED_TYPES],
  ])('%s is up to date with schema/*.graphql', async (name, checkedIn) => {
    const fresh = join(dir, 'graphql.ts');
    await generateTypes(fresh);
    const expected = readFileSync(fresh, 'utf8');
    const actual = readFileSync(checkedIn, 'utf8');
    if (actual !== expected) {
      throw new Error(
        `${name} is stale: it differs from the types generated from schema/*.graphql. ` +
          `Run \`npm run graphql:types\` and commit the result.\n${firstDifference(actual, expected)}`,
      );
    }
    // Guard against an empty generation comparing equal to an emptied file.
    expect(expected).toMatch(/export interface IQuery \{/);
  });
});

/** The first differing line, so the failure says where without a full dump. */
function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const e = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) return `first difference at line ${i + 1}:\n  checked in: ${a[i] ?? '<end of file>'}\n  generated:  ${e[i] ?? '<end of file>'}`;
  }
  return '';
}

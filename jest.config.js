/** Unit specs live beside the code; integration specs (real PostgreSQL, Redis, RabbitMQ) under `test/` folders. */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');
const { esmAsCommonJs } = require('./libs/testing/jest/esm-as-commonjs');

const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleNameMapper: {
    ...pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
    // An ES module the service requires natively, which jest's runtime cannot (see the helper).
    '^@vlasky/zongji$': esmAsCommonJs(__dirname, '@vlasky/zongji'),
  },
};

// Fault tests stop and restart servers and kill the service: they run only when their project is
// asked for (`npm run test:faults`, i.e. `--selectProjects faults`), never in a plain `jest` / `npm test`.
const selected = (() => {
  const inline = process.argv.find((a) => a.startsWith('--selectProjects='));
  if (inline) return inline.slice('--selectProjects='.length).split(',');
  const i = process.argv.indexOf('--selectProjects');
  if (i < 0) return [];
  const rest = process.argv.slice(i + 1);
  const end = rest.findIndex((a) => a.startsWith('-'));
  return end < 0 ? rest : rest.slice(0, end);
})();
const faults = {
  ...common,
  displayName: 'faults',
  testMatch: ['<rootDir>/{apps,libs}/**/test/**/*.fault-spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
};

module.exports = {
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/src/**/*.spec.ts', '<rootDir>/apps/**/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/test/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
    },
    ...(selected.includes('faults') ? [faults] : []),
  ],
};

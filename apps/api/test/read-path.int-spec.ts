import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, envVarsOf, testEnv } from '@app/testing';

/**
 * An API-only process (`npm run start:api`) serves reads without loading the change-event
 * transports or decoders: no `@app/cdc`, no amqplib consumer code of ours, no kafkajs. The built
 * process is started as production starts it, and asked what it loaded.
 */
const ROOT = join(__dirname, '../../..');

describe('the API read path', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 300_000);

  it('loads neither @app/cdc nor kafkajs, and answers GraphQL', async () => {
    const env = testEnv();
    const script = `
      require('reflect-metadata');
      const { startApp } = require('./dist/libs/bootstrap/src');
      (async () => {
        const running = await startApp({ api: true, ingest: false }, { logger: false });
        const res = await fetch(running.url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ statusCounts { status count } }' }) });
        const answered = res.status === 200 && Array.isArray((await res.json()).data.statusCounts);
        const loaded = Object.keys(require.cache);
        const has = (part) => loaded.some((f) => f.includes(part));
        process.stdout.write(JSON.stringify({ answered, cdc: has('/dist/libs/cdc/'), ingest: has('/dist/libs/ingest/'), kafkajs: has('/node_modules/kafkajs/'), changeEvents: has('/dist/libs/change-events/') }));
        await running.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: ROOT, env: { PATH: process.env.PATH, ...envVarsOf(env), ALLOW_ANONYMOUS_READS: 'true' } });
    expect(JSON.parse(stdout)).toEqual({ answered: true, cdc: false, ingest: false, kafkajs: false, changeEvents: true });
  }, 60_000);
});

import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { DebeziumLog } from '@app/cdc';
import { CRM, testEnv, waitFor } from '@app/testing';

/** The built server logs JSON lines: one per consumed batch at debug level, one per problem. */
const SERVER = join(__dirname, '../../../dist/apps/server/src/main.js');

describe('JSON logs', () => {
  const env = testEnv();
  let child: ChildProcess;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    child = spawn(process.execPath, [SERVER], {
      env: {
        ...process.env,
        DATABASE_URL: env.database.url,
        REDIS_PREFIX: env.redis.prefix,
        AMQP_EXCHANGE: env.amqp.exchange,
        AMQP_QUEUE: env.amqp.queue,
        STATUS_EXCHANGE: env.outbox.exchange,
        PORT: '0',
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    await waitFor(async () => lines.some((l) => String(l.msg).startsWith('consuming ')), 'the consumer started', 20_000);
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const conn = await amqp.connect(env.amqp.url);
    const ch = await conn.createChannel();
    await ch.deleteQueue(env.amqp.queue);
    await ch.deleteQueue(`${env.amqp.queue}.dlq`);
    await ch.deleteExchange(env.amqp.exchange);
    await conn.close();
  });

  it('writes one JSON line per batch with its id, and one warning per bad message naming topic and delivery tag', async () => {
    const conn = await amqp.connect(env.amqp.url);
    const ch = await conn.createConfirmChannel();
    const log = new DebeziumLog();
    ch.publish(env.amqp.exchange, CRM.topic, Buffer.from(JSON.stringify(log.envelope(CRM, 'c', null, { id: 1, customer_no: 'LOG-1', email: null, status: 'ACTIVE', updated_at: 1 }))));
    ch.publish(env.amqp.exchange, CRM.topic, Buffer.from('not json'));
    await ch.waitForConfirms();
    await conn.close();
    const batch = await waitFor(async () => lines.find((l) => l.msg === 'batch committed'), 'a batch line');
    expect(batch).toMatchObject({ level: 20, context: 'ingest', batchId: expect.stringMatching(/^[0-9a-f]{8}$/), messages: 2, events: 1, deadLettered: 1 });
    const warning = await waitFor(async () => lines.find((l) => String(l.msg).startsWith('dead-lettered')), 'a warning line');
    expect(warning).toMatchObject({ level: 40, context: 'cdc', msg: expect.stringMatching(/topic legacy\.crm\.customers, delivery tag \d+: not JSON/) });
  });
});

import { hostname } from 'node:os';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { exitOnSignals, startApp } from '@app/bootstrap';
import { AmqpCdcConsumer, DebeziumLog, tableRefOf } from '@app/cdc';
import { fromRoot, loadDomainConfig, loadEnvConfig, readDocument } from '@app/config';
import { CdcConsumerService } from '@app/ingest';
import { ProjectionQueries } from '@app/projection';
import { ApiTokenService } from '@app/access';

type Step =
  | { system: string; op: 'c' | 'u' | 'd' | 'r'; before?: Record<string, unknown> | null; after?: Record<string, unknown> | null; form?: 'plain' | 'wrapped' | 'flattened' }
  | { topic: string; body: string };

const out = (line = '') => process.stdout.write(`${line}\n`);

/** Starts the service, publishes the reference change events as Debezium would, and shows the result. */
export async function runDemo(): Promise<void> {
  const env = loadEnvConfig({ ALLOW_ANONYMOUS_READS: 'true', ...process.env });
  const domain = loadDomainConfig(env.configDir, { directSystems: env.cdc.directSystems });
  const running = await startApp({ api: true, ingest: true }, { env, domain, logger: ['error', 'warn'] });
  exitOnSignals(running);

  const file = join(fromRoot(env.configDir), 'demo/events.yaml');
  const steps = readDocument(file) as Step[];
  const log = new DebeziumLog();
  const systems = new Map(domain.sources.systems.map((s) => [s.name, s]));
  const conn = await amqp.connect(env.amqp.url);
  const ch = await conn.createConfirmChannel();
  for (const step of steps) {
    if ('topic' in step) {
      ch.publish(env.amqp.exchange, step.topic, Buffer.from(step.body), { persistent: true });
      continue;
    }
    const system = systems.get(step.system);
    if (!system) throw new Error(`${file}: unknown system "${step.system}"`);
    const envelope = log.envelope(tableRefOf(system), step.op, step.before ?? null, step.after ?? null);
    const body = step.form === 'wrapped' ? log.wrapped(envelope) : step.form === 'flattened' ? log.flattened(envelope) : envelope;
    ch.publish(env.amqp.exchange, system.topic, Buffer.from(JSON.stringify(body)), { persistent: true, contentType: 'application/json' });
  }
  await ch.waitForConfirms();
  await conn.close();
  out(`published ${steps.length} change events to exchange "${env.amqp.exchange}" on ${env.amqp.url.replace(/\/\/.*@/, '//')}`);

  const consumer = running.app.get(CdcConsumerService).consumer as AmqpCdcConsumer;
  const deadline = Date.now() + 15_000;
  while (consumer.stats.consumed < steps.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  out(`consumed ${consumer.stats.consumed}, dead-lettered ${consumer.stats.deadLettered} (see queue "${consumer.dlq}")`);

  const queries = running.app.get(ProjectionQueries);
  out();
  out('status counts:');
  for (const c of await queries.statusCounts()) out(`  ${c.status.padEnd(10)} ${c.count}`);
  out();
  // A token to sign in to the console with, made fresh on every run (only its hash is stored).
  const { token } = await running.app.get(ApiTokenService).create('demo analyst', 'analyst', 'npm run demo');
  const base = running.url;
  out(`Console: ${base}/console/   sign in with this analyst token (shown once):`);
  out(`  ${token}`);
  // Listening on every interface (HOST=0.0.0.0, the default): another machine uses this host's name.
  if (env.http.host === '0.0.0.0' || env.http.host === '::') out(`  (from another machine: ${base.replace('127.0.0.1', hostname())}/console/)`);
  out(`GraphQL: ${base}/graphql   (GraphiQL: ${base}/graphiql)`);
  out('try:');
  out(
    `  curl -s ${base}/graphql -H 'content-type: application/json' \\\n` +
      `    -d '{"query":"{ customer(id: \\"c-000003\\") { id status reason statusSince sources { system status rule raw } history { from to reason at } } }"}'`,
  );
  out();
  out('serving; Ctrl-C to stop');
}


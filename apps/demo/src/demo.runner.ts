import { hostname } from 'node:os';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { exitOnSignals, startApp } from '@app/bootstrap';
import { AmqpCdcConsumer, DebeziumLog, tableRefOf } from '@app/cdc';
import { fromRoot, loadDomainConfig, loadEnvConfig, readDocument, redactUrl } from '@app/config';
import { CdcConsumerService } from '@app/ingest';
import { ProjectionQueries } from '@app/projection';
import { ApiTokenService } from '@app/access';
import { prepareDirectDemo } from './direct-legacy';

type Step =
  | { system: string; op: 'c' | 'u' | 'd' | 'r'; before?: Record<string, unknown> | null; after?: Record<string, unknown> | null; form?: 'plain' | 'wrapped' | 'flattened' }
  | { topic: string; body: string };

const out = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Starts the service and shows the result: the PostgreSQL systems read straight from legacy
 * databases of the demo's own when the server allows it (see direct-legacy.ts; DEMO_DIRECT=false
 * turns it off), and the reference change events of the others published as Debezium would.
 */
export async function runDemo(): Promise<void> {
  const initial = loadEnvConfig({ ALLOW_ANONYMOUS_READS: 'true', ...process.env });
  const direct = process.env.DEMO_DIRECT === 'false' ? null : await prepareDirectDemo(initial, loadDomainConfig(initial.configDir), out);
  // What the user set wins over what the demo chose; the legacy URLs are read from the process's environment.
  for (const [k, v] of Object.entries(direct?.env ?? {})) process.env[k] ??= v;
  const env = loadEnvConfig({ ALLOW_ANONYMOUS_READS: 'true', ...process.env });
  const domain = loadDomainConfig(env.configDir, { directSystems: env.cdc.directSystems });
  const running = await startApp({ api: true, ingest: true }, { env, domain, logger: ['error', 'warn'] }).catch(async (e: unknown) => {
    await direct?.dropSlots();
    throw e;
  });
  exitOnSignals(running, undefined, async () => {
    await direct?.dropSlots();
    const kept = direct ? `; the demo's slots and publications are dropped` : '';
    out(`stopped${kept}; the view stays in ${redactUrl(env.database.url)} (Redis prefix ${env.redis.prefix}): a later run goes on from it`);
  });
  if (direct) {
    const slots = direct.systems.filter((s) => s.connection?.dialect === 'postgres').map((s) => `${env.directPg.slotPrefix}_${s.name}`).join(', ');
    const from = (dialect: string) => direct.systems.filter((s) => s.connection?.dialect === dialect).map((s) => s.name);
    if (from('postgres').length) out(`read ${from('postgres').join(' and ')} straight from PostgreSQL (slots and publications ${slots}, dropped when the demo stops)`);
    if (from('mysql').length) out(`read ${from('mysql').join(' and ')} straight from the MariaDB binlog`);
  }
  const directNames = new Set(domain.sources.systems.filter((s) => s.changes === 'direct').map((s) => s.name));

  const file = join(fromRoot(env.configDir), 'demo/events.yaml');
  // The systems read directly have their rows in their databases; the others' events are published.
  const consumer = running.app.get(CdcConsumerService).consumer as AmqpCdcConsumer | null;
  // (none at all when every system is read directly: there is no message transport to send them to)
  const steps = consumer ? (readDocument(file) as Step[]).filter((step) => 'topic' in step || !directNames.has(step.system)) : [];
  if (steps.length > 0) {
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
  }

  if (consumer) {
    const deadline = Date.now() + 15_000;
    while (consumer.stats.consumed < steps.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    out(`consumed ${consumer.stats.consumed}, dead-lettered ${consumer.stats.deadLettered} (see queue "${consumer.dlq}")`);
  }

  // Until what the direct sources received is applied (the binlog's seed rows come after the start).
  const ingest = running.app.get(CdcConsumerService);
  for (let quiet = 0, waited = 0; quiet < 3 && waited < 10_000; waited += 200) {
    await new Promise((r) => setTimeout(r, 200));
    quiet = ingest.progress().waiting === 0 ? quiet + 1 : 0;
  }
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
  const customer = direct?.tryIt?.customer ?? 'c-000003';
  out('try:');
  out(
    `  curl -s ${base}/graphql -H 'content-type: application/json' \\\n` +
      `    -d '{"query":"{ customer(id: \\"${customer}\\") { id status reason statusSince sources { system status rule raw } history { from to reason at } } }"}'`,
  );
  if (direct?.tryIt) {
    out('then change it in its legacy database and ask again:');
    out(`  ${direct.tryIt.command}`);
  }
  out();
  out('serving; Ctrl-C to stop');
}


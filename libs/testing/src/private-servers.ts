import * as amqp from 'amqplib';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, chownSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { EnvConfig } from '@app/config';
import { DebeziumLog, Row, TableRef } from '@app/cdc';
import { openStatusviewDatabase } from '@app/bootstrap';
import { waitFor } from './test-env';

/**
 * Private instances of PostgreSQL, Redis and RabbitMQ for fault tests, started from the machine's
 * own binaries on free ports. A fault test stops and restarts these, never the machine's shared
 * servers, so other test runs and benchmarks going on at the same time are not disturbed.
 */

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../..');
const PG_BIN = (() => {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.length ? join(base, versions[0], 'bin') : '';
})();
const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

/** Everything a test started, stopped even if the test process ends without its afterAll. */
const cleanups = new Set<() => void>();
process.once('exit', () => cleanups.forEach((c) => c()));

function isFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/**
 * A free port in [20000, 26000), below the kernel's ephemeral range (32768 and up) so that no
 * outgoing connection takes it between this check and the server's bind; with `plus`,
 * `port + plus` is free too (RabbitMQ's distribution port).
 */
export async function freePort(plus?: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 6000);
    if ((await isFree(port)) && (plus === undefined || (await isFree(port + plus)))) return port;
  }
  throw new Error('no free port found');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** The last 64 KiB a child process wrote, for failure messages. */
class OutputTail {
  private text = '';
  attach(child: ChildProcess): void {
    const add = (b: Buffer) => {
      this.text = (this.text + b.toString()).slice(-65536);
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
  }
  toString(): string {
    return this.text;
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((res, reject) => {
    const t = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      res({ code, signal });
    });
  });
}

/** Waits for `probe`, failing at once (with the process's output) if the process exits first. */
async function untilReady(child: ChildProcess, out: OutputTail, probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const died = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}) before it was ready`))));
  died.catch(() => undefined); // it may exit long after being ready, when stopped
  try {
    await Promise.race([waitFor(probe, what, timeoutMs), died]);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}\n${out}`);
  }
}

const isRoot = () => process.getuid?.() === 0;

/** Redis: `redis-server` as a child process, no persistence (a restart comes back empty, like a lost cache). */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private readonly out = new OutputTail();
  private readonly cleanup = () => this.child?.kill('SIGKILL');

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    cleanups.add(r.cleanup);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.out.attach(child);
    this.child = child;
    await untilReady(child, this.out, () => portOpen(this.port), `private Redis on port ${this.port}`, 10_000);
  }

  /** SIGSTOP: Redis hangs with its connections open (a frozen VM, a long fork, a swap storm); `resume` ends it. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGTERM: Redis shuts down (nothing saved). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await exited(child, 10_000);
    this.child = null;
  }

  async dispose(): Promise<void> {
    this.resume();
    await this.stop().catch(() => this.child?.kill('SIGKILL'));
    cleanups.delete(this.cleanup);
  }
}

/** PostgreSQL: a cluster of its own (`initdb`, trust), run with `pg_ctl`; as root, as the postgres OS user. */
export class PrivatePostgres {
  private readonly data: string;
  private readonly cleanup = () => {
    try {
      execFileSync(...this.command('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  };

  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {
    this.data = join(dir, 'data');
  }

  static async start(): Promise<PrivatePostgres> {
    if (!PG_BIN) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
    const dir = mkdtempSync(join(tmpdir(), 'statusview-fault-pg-'));
    const pg = new PrivatePostgres(dir, await freePort());
    cleanups.add(pg.cleanup);
    if (isRoot()) {
      // PostgreSQL refuses to run as root.
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    await run(...pg.command('initdb', ['-D', pg.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']));
    await pg.start();
    return pg;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates the database and runs the migrations, as a fresh machine's first start would. */
  async createDatabase(name: string): Promise<string> {
    const url = this.url(name);
    const ds = await openStatusviewDatabase(url);
    await ds.destroy();
    return url;
  }

  start(): Promise<void> {
    return this.ctl(['-o', this.options(), '-l', join(this.dir, 'postgres.log'), 'start']);
  }

  /** `fast`: clients are disconnected (admin shutdown), open transactions roll back. */
  stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    return this.ctl(['-m', mode, 'stop']);
  }

  restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    return this.ctl(['-m', mode, '-o', this.options(), '-l', join(this.dir, 'postgres.log'), 'restart']);
  }

  async dispose(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    cleanups.delete(this.cleanup);
  }

  private options(): string {
    return `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`;
  }

  private async ctl(args: string[]): Promise<void> {
    await run(...this.command('pg_ctl', ['-D', this.data, '-w', '-t', '30', ...args]));
  }

  private command(bin: string, args: string[]): [string, string[]] {
    const path = join(PG_BIN, bin);
    return isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  }
}

/**
 * RabbitMQ: a node of its own (own name, ports, Mnesia and log directories, no plugins, the
 * machine's configuration files not read), started from `rabbitmq-server` in the foreground.
 * Durable queues and persistent messages survive its restarts, as on a real broker.
 */
export class PrivateRabbitMq {
  private child: ChildProcess | null = null;
  private readonly out = new OutputTail();
  private readonly cleanup = () => {
    // The node runs in a process group of its own (the start script and the Erlang VM under it).
    if (this.child?.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  };

  private constructor(
    private readonly dir: string,
    readonly port: number,
    readonly node: string,
  ) {}

  static async start(): Promise<PrivateRabbitMq> {
    if (!existsSync(join(RABBIT_BIN, 'rabbitmq-server'))) throw new Error(`no rabbitmq-server in ${RABBIT_BIN}`);
    const dir = mkdtempSync(join(tmpdir(), 'statusview-fault-rabbitmq-'));
    const port = await freePort(6000);
    const r = new PrivateRabbitMq(dir, port, `fault${port}${Math.random().toString(36).slice(2, 6)}@localhost`);
    cleanups.add(r.cleanup);
    for (const sub of ['mnesia', 'log', 'home']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\n`);
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
    await r.start();
    return r;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const d = this.dir;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: join(d, 'home'), // its own Erlang cookie
      LANG: 'C.UTF-8',
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.port + 6000),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf'),
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
    const child = spawn(join(RABBIT_BIN, 'rabbitmq-server'), [], { cwd: d, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.out.attach(child);
    this.child = child;
    await untilReady(
      child,
      this.out,
      async () => {
        if (!(await portOpen(this.port))) return false;
        const c = await amqp.connect(this.url);
        await c.close();
        return true;
      },
      `private RabbitMQ node ${this.node} on port ${this.port}`,
      60_000,
    );
  }

  /** SIGTERM: the node shuts down cleanly and closes every client connection (CONNECTION_FORCED). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await exited(child, 30_000);
    this.child = null;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop().catch(() => this.cleanup());
    rmSync(this.dir, { recursive: true, force: true });
    cleanups.delete(this.cleanup);
  }
}

/** Publishes change events like Debezium Server's RabbitMQ sink; survives a broker restart with `reconnect()`. */
export class CdcPublisher {
  readonly log = new DebeziumLog();
  private conn: amqp.ChannelModel | null = null;
  private ch: amqp.ConfirmChannel | null = null;

  constructor(
    private readonly url: string,
    private readonly exchange: string,
  ) {}

  async connect(): Promise<this> {
    const conn = await amqp.connect(this.url);
    // A broker going away must not become an uncaught 'error' in the test process.
    conn.on('error', () => undefined);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
    this.conn = conn;
    this.ch = ch;
    return this;
  }

  async reconnect(): Promise<void> {
    await this.close();
    await this.connect();
  }

  /** Publishes and waits for the broker's confirms, once for all. */
  async events(list: ReadonlyArray<[TableRef, 'c' | 'u' | 'd' | 'r', Row | null, Row | null]>): Promise<void> {
    const ch = this.ch!;
    for (const [t, op, before, after] of list) {
      ch.publish(this.exchange, t.topic, Buffer.from(JSON.stringify(this.log.envelope(t, op, before, after))), {
        persistent: true,
        contentType: 'application/json',
      });
    }
    await ch.waitForConfirms();
  }

  /** Messages ready in a queue (not delivered to a consumer, or delivered and given back). */
  async ready(queue: string): Promise<{ messages: number; consumers: number }> {
    const q = await this.ch!.checkQueue(queue);
    return { messages: q.messageCount, consumers: q.consumerCount };
  }

  get channel(): amqp.ConfirmChannel {
    return this.ch!;
  }

  async close(): Promise<void> {
    await this.conn?.close().catch(() => undefined);
    this.conn = null;
    this.ch = null;
  }
}

/** The environment variables that make a process load exactly `env` (the inverse of loadEnvConfig). */
export function envVarsOf(env: EnvConfig): Record<string, string> {
  return {
    DATABASE_URL: env.database.url,
    REDIS_URL: env.redis.url,
    REDIS_PREFIX: env.redis.prefix,
    AMQP_URL: env.amqp.url,
    AMQP_EXCHANGE: env.amqp.exchange,
    AMQP_QUEUE: env.amqp.queue,
    AMQP_PREFETCH: String(env.amqp.prefetch),
    AMQP_BINDINGS: env.amqp.bindings.join(','),
    KAFKA_BROKERS: env.kafka.brokers.join(','),
    KAFKA_GROUP_ID: env.kafka.groupId,
    KAFKA_CLIENT_ID: env.kafka.clientId,
    KAFKA_DLQ_TOPIC: env.kafka.dlqTopic,
    CDC_TRANSPORT: env.cdc.transport,
    CDC_BATCH_SIZE: String(env.cdc.batchSize),
    CDC_BATCH_LINGER_MS: String(env.cdc.lingerMs),
    CDC_RETRY_MAX_MS: String(env.cdc.retryMaxMs),
    CDC_CONCURRENCY: String(env.cdc.concurrency),
    CDC_MAX_MESSAGE_BYTES: String(env.cdc.limits.maxMessageBytes),
    CDC_MAX_DEPTH: String(env.cdc.limits.maxDepth),
    CDC_MAX_KEY_LENGTH: String(env.cdc.limits.maxKeyLength),
    CDC_STALL_AFTER_MS: String(env.cdc.stallAfterMs),
    CDC_MAX_REFUSALS_IN_A_ROW: String(env.cdc.maxRefusalsInARow),
    HOST: env.http.host,
    PORT: String(env.http.port),
    HTTP_BODY_LIMIT: String(env.http.bodyLimit),
    GRAPHQL_MAX_DEPTH: String(env.graphql.maxDepth),
    GRAPHQL_MAX_COST: String(env.graphql.maxCost),
    GRAPHQL_MAX_QUERY_LENGTH: String(env.graphql.maxQueryLength),
    GRAPHQL_MAX_TOKENS: String(env.graphql.maxTokens),
    GRAPHQL_DOCUMENT_CACHE: String(env.graphql.documentCache),
    GRAPHQL_MAX_IDS: String(env.graphql.maxIds),
    GRAPHQL_MAX_PAGE: String(env.graphql.maxPage),
    GRAPHQL_METRIC_OPERATIONS: String(env.graphql.metricOperations),
    GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS: String(env.graphql.subscriptionAuthCheckMs),
    ALLOW_ANONYMOUS_READS: String(env.graphql.allowAnonymousReads),
    OUTBOX_RELAY: String(env.outbox.enabled),
    STATUS_EXCHANGE: env.outbox.exchange,
    RULES_ANALYSIS_THREADS: String(env.rulesAnalysis.threads),
    RULES_ANALYSIS_QUEUE: String(env.rulesAnalysis.queue),
    RULES_ANALYSIS_TIMEOUT_MS: String(env.rulesAnalysis.timeoutMs),
    CONFIG_DIR: env.configDir,
    LOG_LEVEL: env.logLevel,
  };
}

/** Empties every table of the statusview database (the rule set is seeded again at start). */
export async function emptyTables(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(`SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`);
    if (rows.length) await client.query(`TRUNCATE ${rows.map((r) => r.t).join(', ')}`);
  } finally {
    await client.end();
  }
}

/** Builds dist/ when it is missing or older than a source file (the built server is what runs in production). */
export async function ensureBuilt(): Promise<string> {
  const main = join(ROOT, 'dist/apps/server/src/main.js');
  const info = join(ROOT, 'dist/.tsbuildinfo');
  const builtAt = existsSync(main) && existsSync(info) ? statSync(info).mtimeMs : 0;
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return e.name !== 'test' && e.name !== 'node_modules' && newer(p);
      return p.endsWith('.ts') && !p.endsWith('.spec.ts') && statSync(p).mtimeMs > builtAt;
    });
  if (builtAt === 0 || newer(join(ROOT, 'apps')) || newer(join(ROOT, 'libs'))) {
    await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  }
  return main;
}

/** The built server (`dist/apps/server/src/main.js`) as a child process, as production runs it. */
export class ServiceProcess {
  private readonly out = new OutputTail();
  private readonly cleanup = () => this.child.kill('SIGKILL');

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.out.attach(child);
    cleanups.add(this.cleanup);
    child.once('exit', () => cleanups.delete(this.cleanup));
  }

  /** Starts it with `vars` (see envVarsOf) on a free port and waits until /health/ready answers 200. */
  static async start(main: string, vars: Record<string, string>): Promise<ServiceProcess> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawn(process.execPath, [main], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars, PORT: String(port), HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const svc = new ServiceProcess(child, `http://127.0.0.1:${port}`);
      try {
        await untilReady(child, svc.out, async () => (await fetch(`${svc.url}/health/ready`)).status === 200, 'the service to be ready', 60_000);
        return svc;
      } catch (e) {
        child.kill('SIGKILL');
        // Someone took the port between the check and the bind: another one.
        if (attempt < 3 && svc.output().includes('EADDRINUSE')) continue;
        throw e;
      }
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return exited(this.child, timeoutMs);
  }

  output(): string {
    return this.out.toString();
  }
}

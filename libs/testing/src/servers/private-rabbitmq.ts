import * as amqp from 'amqplib';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanups, exited, freePort, OutputTail, portOpen, RABBIT_BIN, untilReady } from './process-tools';

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

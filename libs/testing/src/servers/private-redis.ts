import { ChildProcess, spawn } from 'node:child_process';
import { cleanups, exited, freePort, OutputTail, portOpen, untilReady } from './process-tools';

/** Redis: `redis-server` as a child process, no persistence (a restart comes back empty, like a lost cache). */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private readonly out = new OutputTail();
  private readonly cleanup = () => this.child?.kill('SIGKILL');

  private constructor(
    readonly port: number,
    private readonly args: readonly string[],
  ) {}

  /** `args`: more of redis-server's options, e.g. `['--maxmemory', '32mb', '--maxmemory-policy', 'noeviction']`. */
  static async start(args: readonly string[] = []): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), args);
    cleanups.add(r.cleanup);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...this.args], {
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

import { ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerReply, WorkerRequest, WorkerRole } from './worker.protocol';

export interface WorkerOptions {
  /** Directory for the worker's CPU profile and round-trip timings; no profiling when absent. */
  profileDir?: string;
}

/** The parent's handle on a worker process: requests over IPC, a clean stop (so its CPU profile gets written). */
export class WorkerHandle<Info = unknown> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: Promise<number | null>;
  info!: Info;

  private constructor(
    readonly role: WorkerRole,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${role} worker: ${m.error}`));
    });
    void this.exited.then((code) => {
      for (const p of this.pending.values()) p.reject(new Error(`${role} worker exited (code ${code})`));
      this.pending.clear();
    });
  }

  /** The worker's process id, for reading its memory from /proc. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start<Info>(role: WorkerRole, args: unknown, options: WorkerOptions = {}): Promise<WorkerHandle<Info>> {
    // Every process under test runs as the service's image runs it (docker-compose.yml sets
    // NODE_ENV=production: graphql-js then skips its development-only checks), references alike.
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: process.env.BENCH_NODE_ENV ?? 'production' };
    if (options.profileDir) {
      env.BENCH_TRACE_DIR = options.profileDir;
      mkdirSync(options.profileDir, { recursive: true });
    }
    const child = fork(join(__dirname, '..', 'main.js'), ['--worker', role], { execArgv: [], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const handle = new WorkerHandle<Info>(role, child);
    handle.info = await handle.request<Info>('start', args, 120_000);
    return handle;
  }

  request<T>(cmd: string, args?: unknown, timeoutMs = 600_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.role} worker: "${cmd}" did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const message: WorkerRequest = { id, cmd, args };
      this.child.send(message);
    });
  }

  /** Asks the worker to close and exit; kills it if it does not within the bound. */
  async stop(boundMs = 30_000): Promise<void> {
    if (this.child.exitCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), boundMs);
    try {
      await this.request('stop', undefined, boundMs).catch(() => undefined);
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

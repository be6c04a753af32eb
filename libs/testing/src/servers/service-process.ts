import { ChildProcess, spawn } from 'node:child_process';
import { cleanups, exited, freePort, OutputTail, ROOT, untilReady } from './process-tools';

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

  /**
   * Starts it with `vars` (see envVarsOf) on a free port and waits until /health/ready answers 200.
   * `onLine` sees every line it writes to stdout (its JSON log), not only the tail kept for errors.
   */
  static async start(
    main: string,
    vars: Record<string, string>,
    opts: { onLine?: (line: string) => void; onSpawn?: (pid: number) => void } = {},
  ): Promise<ServiceProcess> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawn(process.execPath, [main], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars, PORT: String(port), HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const svc = new ServiceProcess(child, `http://127.0.0.1:${port}`);
      // Before it is ready: a test that kills it during its start (a first start's snapshot load).
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
      const onLine = opts.onLine;
      if (onLine) {
        let partial = '';
        child.stdout!.on('data', (b: Buffer) => {
          const lines = (partial + b.toString()).split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) if (l.trim()) onLine(l);
        });
      }
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

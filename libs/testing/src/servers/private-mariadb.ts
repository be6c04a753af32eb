import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanups, exited, freePort, OutputTail, portOpen, run, untilReady } from './process-tools';

/**
 * A MariaDB server of the test's own (`mariadbd` in a temporary data directory, loopback only,
 * no grant tables), started with the options given: for settings a test must not give the
 * machine's shared server, such as the binlog off or statement-based.
 */
export class PrivateMariadb {
  private child: ChildProcess | null = null;
  private readonly out = new OutputTail();
  private readonly cleanup = () => this.child?.kill('SIGKILL');

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(options: string[]): Promise<PrivateMariadb> {
    const dir = mkdtempSync(join(tmpdir(), 'statusview-mariadb-'));
    const m = new PrivateMariadb(await freePort(), dir);
    cleanups.add(m.cleanup);
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${join(dir, 'data')}`, '--user=root', '--skip-test-db', '--auth-root-authentication-method=normal'], { maxBuffer: 4 * 1024 * 1024 });
    const child = spawn(
      'mariadbd',
      ['--no-defaults', `--datadir=${join(dir, 'data')}`, `--port=${m.port}`, '--bind-address=127.0.0.1', `--socket=${join(dir, 'mariadb.sock')}`, '--user=root', '--skip-grant-tables', '--innodb-buffer-pool-size=16M', ...options],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    m.out.attach(child);
    m.child = child;
    await untilReady(child, m.out, () => portOpen(m.port), `private MariaDB on port ${m.port}`, 30_000);
    return m;
  }

  url(db = ''): string {
    return `mysql://root@127.0.0.1:${this.port}/${db}`;
  }

  async dispose(): Promise<void> {
    const child = this.child;
    if (child) {
      child.kill('SIGTERM');
      await exited(child, 15_000).catch(() => child.kill('SIGKILL'));
    }
    this.child = null;
    cleanups.delete(this.cleanup);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

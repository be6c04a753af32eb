import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStatusviewDatabase } from '@app/bootstrap';
import { cleanups, freePort, isRoot, PG_BIN, run } from './process-tools';

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
    private readonly settings: Readonly<Record<string, string>>,
  ) {
    this.data = join(dir, 'data');
  }

  /**
   * `settings`: server options of this cluster only (`wal_level: 'logical'`,
   * `max_slot_wal_keep_size: '1MB'`): what a test needs of a server that the shared one must keep.
   */
  static async start(settings: Readonly<Record<string, string>> = {}): Promise<PrivatePostgres> {
    if (!PG_BIN) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
    for (const [k, v] of Object.entries(settings)) {
      if (!/^[a-z_]+$/.test(k) || !/^[A-Za-z0-9_.]+$/.test(v)) throw new Error(`PrivatePostgres: setting ${k}=${v} is not a plain name and value`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'statusview-fault-pg-'));
    const pg = new PrivatePostgres(dir, await freePort(), settings);
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
    const extra = Object.entries(this.settings).map(([k, v]) => ` -c ${k}=${v}`).join('');
    return `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1${extra}`;
  }

  private async ctl(args: string[]): Promise<void> {
    await run(...this.command('pg_ctl', ['-D', this.data, '-w', '-t', '30', ...args]));
  }

  private command(bin: string, args: string[]): [string, string[]] {
    const path = join(PG_BIN, bin);
    return isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  }
}

import { readdirSync, readFileSync } from 'node:fs';

type Share = 'bench' | 'servers' | 'other';

export interface CpuShares {
  seconds: number;
  /** Shares of the machine's CPU capacity (all cores), in %. */
  bench: number;
  servers: number;
  other: number;
}

const SERVERS = new Set(['redis-server', 'beam.smp', 'mariadbd', 'mysqld', 'epmd', 'erl_child_setup', 'inet_gethost']);

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * How the machine's CPU was shared while a benchmark ran (Linux /proc): this run's processes and
 * their PostgreSQL backends, the servers' other processes (PostgreSQL's own, Redis, RabbitMQ,
 * MariaDB), and everything else. On a shared machine "other" says how much the figures competed with.
 */
export class CpuMonitor {
  private readonly last = new Map<number, number>();
  private readonly totals: Record<Share, number> = { bench: 0, servers: 0, other: 0 };
  private busyStart = 0;
  private started = 0;
  private timer?: NodeJS.Timeout;
  /** Processes that are this run's though not its children (a walsender: its command line names no database). */
  private readonly adopted = new Set<number>();
  readonly available = read('/proc/stat') !== null;

  /** Counts `pid` as this benchmark's from the next sample on. */
  adopt(pid: number): void {
    this.adopted.add(pid);
  }

  start(): void {
    if (!this.available) return;
    this.started = Date.now();
    this.busyStart = this.machineBusy();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 1000);
    this.timer.unref();
  }

  stop(): CpuShares | null {
    if (!this.available || !this.timer) return null;
    clearInterval(this.timer);
    this.sample(false);
    const seconds = (Date.now() - this.started) / 1000;
    const capacity = seconds * 100 * (this.cores() || 1); // USER_HZ ticks
    const busy = this.machineBusy() - this.busyStart;
    const counted = this.totals.bench + this.totals.servers;
    const pct = (ticks: number) => Math.max(0, Math.min(100, (ticks / capacity) * 100));
    // Processes too short-lived to be sampled show up only in the machine's total: "other".
    return { seconds, bench: pct(this.totals.bench), servers: pct(this.totals.servers), other: pct(busy - counted) };
  }

  private cores(): number {
    return ((read('/proc/stat') ?? '').match(/^cpu\d+ /gm) ?? []).length;
  }

  private machineBusy(): number {
    const line = (read('/proc/stat') ?? '').split('\n')[0];
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return user + nice + system + irq + softirq + (steal || 0);
  }

  private sample(baseline: boolean): void {
    const procs = new Map<number, { ppid: number; comm: string; ticks: number }>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const stat = read(`/proc/${name}/stat`);
      if (!stat) continue;
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      procs.set(Number(name), { ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) });
    }
    const ours = new Set<number>([process.pid, ...this.adopted]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, p] of procs) {
        if (ours.has(pid) || !ours.has(p.ppid)) continue;
        ours.add(pid);
        grew = true;
      }
    }
    for (const [pid, p] of procs) {
      const before = this.last.get(pid);
      this.last.set(pid, p.ticks);
      if (baseline) continue;
      const delta = p.ticks - (before ?? 0);
      if (delta <= 0) continue;
      let share: Share = 'other';
      if (ours.has(pid)) share = 'bench';
      else if (p.comm === 'postgres') share = postgresShare(read(`/proc/${pid}/cmdline`) ?? '');
      else if (SERVERS.has(p.comm)) share = 'servers';
      // A process first seen now ran only since the last sample, or it is another's: count what it used.
      this.totals[share] += delta;
    }
  }
}

/** A backend serving one of the benchmark's databases is the benchmark's; another's is other work; the rest is the server's own. */
function postgresShare(cmdline: string): Share {
  const backend = /\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(cmdline);
  if (!backend) return 'servers';
  // Ours, and those of libs/backfill's benchmark that this one runs (bench_legacy_crm_*, bench_statusview_*).
  return /statusview_bench|\sbench_(legacy_crm|statusview)_/.test(cmdline) ? 'bench' : 'other';
}

import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { Client } from 'pg';

export interface RoundTrip {
  what: string;
  calls: number;
  totalMs: number;
  meanMs: number;
}

const totals = new Map<string, { calls: number; ms: number }>();

function add(what: string, ms: number): void {
  const t = totals.get(what) ?? { calls: 0, ms: 0 };
  t.calls++;
  t.ms += ms;
  totals.set(what, t);
}

/** A statement's first words, enough to tell the projection's statements apart. */
function label(sql: unknown): string {
  const text = typeof sql === 'string' ? sql : ((sql as { text?: string } | null)?.text ?? '?');
  return `SQL ${text.replace(/\s+/g, ' ').trim().slice(0, 70)}`;
}

/**
 * For `--profile` runs: times every PostgreSQL statement (pg's Client.query, as TypeORM calls it)
 * and every Redis command from call to reply, in the worker process, without touching the
 * service's code. A CPU profile shows where Node spends its time; this shows what it waits for.
 */
export function installRoundTripTrace(): void {
  const query = Client.prototype.query as (...args: unknown[]) => unknown;
  Client.prototype.query = function traced(this: Client, ...args: unknown[]) {
    const result = query.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function' && typeof args[args.length - 1] !== 'function') {
      const started = performance.now();
      const what = label(args[0]);
      (result as Promise<unknown>).then(
        () => add(what, performance.now() - started),
        () => add(what, performance.now() - started),
      );
    }
    return result;
  } as typeof Client.prototype.query;
  const send = Redis.prototype.sendCommand as (...args: unknown[]) => unknown;
  Redis.prototype.sendCommand = function traced(this: Redis, ...args: unknown[]) {
    const command = args[0] as { name: string; promise: Promise<unknown> };
    const started = performance.now();
    const result = send.apply(this, args);
    command.promise?.then(
      () => add(`Redis ${command.name}`, performance.now() - started),
      () => add(`Redis ${command.name}`, performance.now() - started),
    );
    return result;
  } as typeof Redis.prototype.sendCommand;
}

export function roundTrips(top = 15): RoundTrip[] {
  return [...totals.entries()]
    .map(([what, t]) => ({ what, calls: t.calls, totalMs: t.ms, meanMs: t.ms / t.calls }))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top);
}

export function resetRoundTrips(): void {
  totals.clear();
}

import { ChildProcess, execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../test-env';

/**
 * What the private servers and the service process share: free ports, the machine's server
 * binaries, child processes' output and exit, and cleanup when the test process ends.
 */

export const run = promisify(execFile);
export const ROOT = resolve(__dirname, '../../../..');
export const PG_BIN = (() => {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.length ? join(base, versions[0], 'bin') : '';
})();
export const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

/** Everything a test started, stopped even if the test process ends without its afterAll. */
export const cleanups = new Set<() => void>();
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

export function portOpen(port: number): Promise<boolean> {
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
export class OutputTail {
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

export function exited(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
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
export async function untilReady(child: ChildProcess, out: OutputTail, probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const died = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}) before it was ready`))));
  died.catch(() => undefined); // it may exit long after being ready, when stopped
  try {
    await Promise.race([waitFor(probe, what, timeoutMs), died]);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}\n${out}`);
  }
}

export const isRoot = () => process.getuid?.() === 0;


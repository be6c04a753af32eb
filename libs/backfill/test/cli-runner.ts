import { ChildProcess, execSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EnvConfig } from '@app/config';

const ROOT = join(__dirname, '../../..');
const CLI = join(ROOT, 'dist/apps/cli/src/main.js');
let built = false;

/**
 * The child-process tests run the built CLI: `npm test` type-checks but does not build, and a
 * stale dist/ would test old code. tsc -b is incremental: well under a second when up to date.
 */
export function ensureBuilt(): void {
  if (built) return;
  execSync('npm run build --silent', { cwd: ROOT, stdio: 'pipe', timeout: 300_000 });
  built = true;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment a child CLI needs to share a test file's database and Redis prefix. */
export function cliEnv(env: EnvConfig, legacy: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: env.database.url,
    REDIS_URL: env.redis.url,
    REDIS_PREFIX: env.redis.prefix,
    ...legacy,
  };
}

/** The built CLI (`npm run build`), as a child process: exit codes, signals and kill -9 are real. */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcess & { output: { stdout: string; stderr: string } } {
  ensureBuilt();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing after npm run build`);
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & {
    output: { stdout: string; stderr: string };
  };
  child.output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (child.output.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (child.output.stderr += d.toString()));
  return child;
}

export function exited(child: ReturnType<typeof spawnCli>): Promise<CliResult> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode, ...child.output });
      return;
    }
    child.on('close', (code, signal) => resolve({ code, signal, ...child.output }));
  });
}

export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return exited(spawnCli(args, env));
}

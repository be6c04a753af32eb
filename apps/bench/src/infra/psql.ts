import { spawn } from 'node:child_process';

/** Runs `COPY (…) TO STDOUT` with psql, output discarded; resolves with the wall time in ms. */
export function psqlCopyMs(url: string, copySql: string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const psql = spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', copySql], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    psql.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    psql.on('error', reject);
    psql.on('exit', (code) => (code === 0 ? resolve(Date.now() - started) : reject(new Error(`psql exited ${code}: ${stderr.trim()}`))));
  });
}

import { createConnection, createServer, Server, Socket } from 'node:net';
import { Worker } from './worker.protocol';

export interface DelayProxyArgs {
  /** Upstreams by name, e.g. `{ postgres: '127.0.0.1:5432', mysql: '127.0.0.1:3306' }`. */
  upstreams: Record<string, string>;
  /** The round-trip time to add: each direction is delayed by half of it. */
  rttMs: number;
}

export interface DelayProxyInfo {
  /** The proxy's address for each upstream name (`127.0.0.1:<port>`). */
  addresses: Record<string, string>;
}

/**
 * A link with latency, on loopback: a TCP proxy in a process of its own (its CPU is not the
 * measured server's) that holds every chunk for half the round-trip time in each direction, in
 * order, so that a server reached through it behaves as one `rttMs` away. The machine's kernel has
 * no netem; this is the bench's stand-in for it. Node's timers fire at millisecond granularity
 * and late under load, so the bench measures the round trip it actually gets (`SELECT 1` through
 * the proxy) and reports that.
 */
export async function delayProxyWorker(args: unknown): Promise<Worker> {
  const { upstreams, rttMs } = args as DelayProxyArgs;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const addresses: Record<string, string> = {};
  for (const [name, upstream] of Object.entries(upstreams)) {
    const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
    const server = createServer((client) => {
      const server = createConnection({ host, port });
      for (const s of [client, server]) {
        s.setNoDelay(true);
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          server.destroy();
        });
      }
      delayed(client, server, rttMs / 2);
      delayed(server, client, rttMs / 2);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    addresses[name] = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    servers.push(server);
  }
  return {
    info: { addresses } satisfies DelayProxyInfo,
    async handle(cmd) {
      throw new Error(`unknown command ${cmd}`);
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** Copies `from` to `to`, each chunk `delayMs` after it arrived, in arrival order; ends with it. */
function delayed(from: Socket, to: Socket, delayMs: number): void {
  const queue: Array<{ at: number; chunk: Buffer | null }> = [];
  let timer: NodeJS.Timeout | null = null;
  const drain = () => {
    timer = null;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now) {
      const { chunk } = queue.shift()!;
      if (chunk === null) to.end();
      else to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0].at - now));
  };
  const push = (chunk: Buffer | null) => {
    queue.push({ at: performance.now() + delayMs, chunk });
    if (!timer) timer = setTimeout(drain, delayMs);
  };
  from.on('data', (chunk: Buffer) => push(chunk));
  from.on('end', () => push(null));
}

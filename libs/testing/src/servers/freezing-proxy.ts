import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a server, for a link that goes silent: `freeze()` stops
 * carrying bytes on every connection open at that moment, in both directions, without closing
 * anything (a cable pulled, a firewall dropping packets: neither side hears of it), while new
 * connections are carried as before.
 */
export class FreezingProxy {
  private constructor(
    private readonly server: Server,
    private readonly pairs: Set<{ client: Socket; upstream: Socket }>,
    readonly port: number,
  ) {}

  private readonly frozen = new Set<{ client: Socket; upstream: Socket }>();

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FreezingProxy> {
    const pairs = new Set<{ client: Socket; upstream: Socket }>();
    const server = createServer((client) => {
      const upstream = createConnection({ port: targetPort, host: targetHost });
      const pair = { client, upstream };
      pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FreezingProxy(server, pairs, (server.address() as AddressInfo).port);
  }

  /** `url` with its host and port replaced by the proxy's. */
  route(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** How many connections are carried now. */
  get open(): number {
    return this.pairs.size;
  }

  /** The connections open now carry nothing more, and stay open. */
  freeze(): number {
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    const n = this.pairs.size;
    for (const pair of this.pairs) this.frozen.add(pair);
    this.pairs.clear();
    return n;
  }

  /** Ends every connection, the frozen ones too, and stops listening. */
  async close(): Promise<void> {
    for (const { client, upstream } of [...this.pairs, ...this.frozen]) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

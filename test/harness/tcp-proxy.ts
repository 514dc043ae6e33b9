import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback between the app and a real server, to cut the
 * network for real: `refuse` closes the listening port, `blackhole` accepts
 * connections and swallows their bytes, `stall` also stops answering on open
 * connections (a peer that hangs), `forward` restores the path, `freezeOpen`
 * hangs the open connections for good while new ones work, `cutAt` cuts one
 * connection at a chosen request: before the server gets it, or after it
 * answered but before the answer arrives.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private mode: 'forward' | 'blackhole' = 'forward';
  private stalled = false;
  private readonly frozen = new WeakSet<Socket>();
  private cut?: { marker: Buffer; where: 'request' | 'reply'; done: () => void };
  /** Upstream sockets whose next answer is dropped, with their connection. */
  private readonly cutOnReply = new WeakMap<Socket, () => void>();

  private constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {}

  /** A proxy in front of the server of `url`, and the same URL through it. */
  static async inFrontOf(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const direct = new URL(url);
    const proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port) });
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(proxy.port);
    return { proxy, url: through.toString() };
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const proxy = new TcpProxy(target, port);
    await proxy.listen();
    return proxy;
  }

  /** Forwards connections, opening the port again if it was closed. */
  async forward(): Promise<void> {
    this.mode = 'forward';
    this.stalled = false;
    if (!this.server) await this.listen();
  }

  /** Drops every open connection and stops listening: connects are refused. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Drops every open connection; new ones are accepted but never answered. */
  async blackhole(): Promise<void> {
    this.mode = 'blackhole';
    this.dropConnections();
    if (!this.server) await this.listen();
  }

  /** Open connections stop carrying bytes, and new ones are never answered. */
  async stall(): Promise<void> {
    this.mode = 'blackhole';
    this.stalled = true;
    if (!this.server) await this.listen();
  }

  /**
   * The connections open now carry no more bytes, ever, and are never closed
   * (a half-open connection, as after a NAT or firewall forgot it); new ones
   * are forwarded.
   */
  freezeOpen(): void {
    for (const socket of this.sockets) this.frozen.add(socket);
  }

  /**
   * Cuts the next connection whose request bytes contain `marker`: with
   * `'request'` the server never gets them; with `'reply'` it gets them and
   * answers, and the connection is cut before the answer reaches the client.
   * Resolves once it is cut.
   */
  cutAt(marker: string, where: 'request' | 'reply'): Promise<void> {
    return new Promise((done) => (this.cut = { marker: Buffer.from(marker), where, done }));
  }

  async stop(): Promise<void> {
    await this.refuse();
  }

  /** Cuts every open connection and keeps accepting new ones. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  private accept(client: Socket): void {
    this.track(client);
    if (this.mode === 'blackhole') {
      client.resume();
      return;
    }
    const upstream = this.track(createConnection(this.target));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    const relay = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        const cutNow = this.cutOnReply.get(from);
        if (cutNow) return cutNow();
        if (from === client && this.cut && chunk.includes(this.cut.marker)) {
          const { where, done } = this.cut;
          this.cut = undefined;
          const cutBoth = () => {
            close();
            done();
          };
          if (where === 'request') return cutBoth();
          this.cutOnReply.set(upstream, cutBoth);
        }
        if (!this.stalled && !this.frozen.has(from)) to.write(chunk);
      });
    relay(client, upstream);
    relay(upstream, client);
    client.once('close', close);
    upstream.once('close', close);
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}

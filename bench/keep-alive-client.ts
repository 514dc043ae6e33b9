import { connect, type Socket } from 'node:net';

/**
 * One keep-alive HTTP/1.1 connection that sends the same request again and
 * again, one at a time, over a raw socket: what it costs the benchmark
 * process is a write and a scan for the status line and `Content-Length`,
 * far less than `node:http`'s client (which took more CPU a request than the
 * server it measured), so on a small machine the load takes little from the
 * server, as pgbench's C client takes little from Postgres.
 */
export class KeepAliveConnection {
  private readonly socket: Socket;
  private received = '';
  private waiting: { resolve: (status: number) => void; reject: (error: Error) => void } | null =
    null;
  private closed: Error | null = null;

  private constructor(
    port: number,
    private readonly request: Buffer,
  ) {
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (text: string) => this.receive(text));
    const fail = (error: Error) => {
      this.closed = error;
      this.waiting?.reject(error);
      this.waiting = null;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Connects; each `send` writes `request`, whole (headers and body). */
  static async open(port: number, request: Buffer): Promise<KeepAliveConnection> {
    const connection = new KeepAliveConnection(port, request);
    await new Promise<void>((resolve, reject) => {
      connection.socket.once('connect', resolve);
      connection.socket.once('error', reject);
    });
    return connection;
  }

  /** Sends the request and resolves with the response's status once its body is in. */
  send(): Promise<number> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(this.request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(text: string): void {
    this.received += text;
    const headEnd = this.received.indexOf('\r\n\r\n');
    if (headEnd === -1) return;
    const length = /\r\ncontent-length: *(\d+)/i.exec(this.received.slice(0, headEnd));
    const end = headEnd + 4 + Number(length?.[1] ?? 0);
    // latin1: one character a byte, so lengths are byte counts.
    if (this.received.length < end) return;
    const status = Number(this.received.slice(9, 12));
    this.received = this.received.slice(end);
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.resolve(status);
  }
}

/** A POST with a JSON body, as bytes to write as they are. */
export function jsonPost(
  path: string,
  port: number,
  headers: Record<string, string>,
  body: string,
) {
  const bytes = Buffer.from(body);
  const lines = Object.entries({
    Host: `127.0.0.1:${port}`,
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n`), bytes]);
}

import { connect, type Socket } from 'node:net';

/**
 * SSE over raw sockets, for thousands of clients in one process: an
 * `EventSource` per client costs too much to hold 10,000 of them. It speaks
 * just enough HTTP/1.1 (status line, headers, chunked bodies) and SSE (the
 * `event:`, `id:` and `data:` fields of each frame) for the benchmark.
 */
export interface SseEvent {
  readonly type: string;
  readonly id: string;
  readonly data: string;
}

export interface SseClientOptions {
  readonly port: number;
  /** Path and query, e.g. `/events?channel=a`. */
  readonly path: string;
  readonly lastEventId?: string;
  /** Called for each complete frame. */
  readonly onEvent: (event: SseEvent, client: SseClient) => void;
  /** Called with the response's status once its headers are in. */
  readonly onResponse?: (status: number, client: SseClient) => void;
  readonly onClose?: (client: SseClient, error?: Error) => void;
}

export class SseClient {
  readonly socket: Socket;
  status = 0;
  closed = false;
  /** The start of a response that is not a stream (status other than 200), for errors. */
  errorBody = '';
  private head = '';
  private inBody = false;
  private chunked = false;
  /** Bytes left in the current chunk; -1 while a chunk-size line is read. */
  private chunkLeft = -1;
  private sizeLine = '';
  private skipCrlf = 0;
  private line = '';
  private type = '';
  private id = '';
  private data: string[] = [];

  constructor(private readonly options: SseClientOptions) {
    this.socket = connect({ port: options.port, host: '127.0.0.1', noDelay: true });
    this.socket.setEncoding('latin1');
    const lastEventId = options.lastEventId ? `Last-Event-ID: ${options.lastEventId}\r\n` : '';
    this.socket.write(
      `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\n` +
        `Accept: text/event-stream\r\n${lastEventId}\r\n`,
    );
    this.socket.on('data', (text: string) => this.receive(text));
    this.socket.on('error', (error) => this.finish(error));
    this.socket.on('close', () => this.finish());
  }

  /** Ends the connection with a reset, so no socket lingers in TIME_WAIT. */
  close(): void {
    this.closed = true;
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  private finish(error?: Error): void {
    if (this.closed && !error) return;
    this.closed = true;
    this.options.onClose?.(this, error);
  }

  private receive(text: string): void {
    if (!this.inBody) {
      this.head += text;
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.head.slice(0, end);
      text = this.head.slice(end + 4);
      this.head = '';
      this.inBody = true;
      this.status = Number(head.slice(9, 12));
      this.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      this.options.onResponse?.(this.status, this);
    }
    if (this.status !== 200) {
      // Not a stream: keep the start of the answer for the error, and stop.
      this.errorBody = text.slice(0, 500);
      this.socket.destroy();
      return this.finish(new Error(`status ${this.status}`));
    }
    if (!this.chunked) return this.body(text);
    let at = 0;
    while (at < text.length) {
      if (this.skipCrlf > 0) {
        const skip = Math.min(this.skipCrlf, text.length - at);
        this.skipCrlf -= skip;
        at += skip;
      } else if (this.chunkLeft < 0) {
        const end = text.indexOf('\n', at);
        if (end < 0) {
          this.sizeLine += text.slice(at);
          return;
        }
        this.chunkLeft = parseInt(this.sizeLine + text.slice(at, end), 16);
        this.sizeLine = '';
        at = end + 1;
      } else {
        const take = Math.min(this.chunkLeft, text.length - at);
        this.body(text.slice(at, at + take));
        this.chunkLeft -= take;
        at += take;
        if (this.chunkLeft === 0) {
          this.chunkLeft = -1;
          this.skipCrlf = 2;
        }
      }
    }
  }

  private body(text: string): void {
    let at = 0;
    for (;;) {
      const end = text.indexOf('\n', at);
      if (end < 0) {
        this.line += text.slice(at);
        return;
      }
      const line = this.line + text.slice(at, end);
      this.line = '';
      at = end + 1;
      this.field(line);
    }
  }

  private field(line: string): void {
    if (line === '') {
      if (this.data.length > 0 || this.type !== '') {
        this.options.onEvent(
          { type: this.type || 'message', id: this.id, data: this.data.join('\n') },
          this,
        );
      }
      this.type = '';
      this.data = [];
      return;
    }
    // `field: value` or `field:value` (better-sse writes no space), as the spec allows.
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const at = line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
    const name = line.slice(0, colon);
    if (name === 'data') this.data.push(line.slice(at));
    else if (name === 'event') this.type = line.slice(at);
    else if (name === 'id') this.id = line.slice(at);
  }
}

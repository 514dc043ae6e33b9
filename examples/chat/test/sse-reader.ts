import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  readonly type: string;
  readonly id: string | undefined;
  readonly data: string;
}

/**
 * A raw Server-Sent Events reader over a real socket: no client library, so
 * the test sees exactly what the server wrote (status, ids, event types).
 */
export class SseReader {
  readonly events: SseEvent[] = [];
  ended = false;
  private buffer = '';
  private waiters: (() => void)[] = [];

  private constructor(
    readonly status: number,
    private readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.receive(chunk));
    response.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  static open(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        headers: { accept: 'text/event-stream', ...headers },
      });
      req.on('response', (response) =>
        resolve(new SseReader(response.statusCode ?? 0, response)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** Events of the app's own types: not the protocol's open and keep-alive. */
  appEvents(): SseEvent[] {
    return this.events.filter(
      (e) => e.type !== 'stream-open' && e.type !== 'keep-alive',
    );
  }

  /** Waits until `check` holds, or fails after `timeoutMs` showing what came. */
  async until(
    check: (reader: this) => boolean,
    timeoutMs = 5000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`Timed out; received: ${JSON.stringify(this.events)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.response.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let type = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue; // comments
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value =
          colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0 || id !== undefined) {
        this.events.push({ type, id, data: data.join('\n') });
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

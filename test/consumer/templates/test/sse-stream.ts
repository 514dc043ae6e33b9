import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  readonly event: string;
  readonly id?: string;
  readonly data: string;
}

interface Waiter {
  resolve(event: SseEvent): void;
  reject(error: Error): void;
}

/**
 * One SSE connection over node:http. Unlike an EventSource it never
 * reconnects, so a test sees exactly what one request was sent.
 */
export class SseStream {
  private readonly events: SseEvent[] = [];
  private readonly waiters: Waiter[] = [];
  private buffer = '';
  private ended?: Error;

  private constructor(private readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.read(chunk));
    response.on('close', () => this.end(new Error('the stream closed')));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        if (
          res.statusCode !== 200 ||
          !res.headers['content-type']?.startsWith('text/event-stream')
        ) {
          res.resume();
          reject(new Error(`${url}: ${res.statusCode} ${res.headers['content-type']}`));
        } else {
          resolve(new SseStream(res));
        }
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The next event, keep-alives skipped. */
  next(timeoutMs = 10_000): Promise<SseEvent> {
    const event = this.events.shift();
    if (event) return Promise.resolve(event);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no event within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: (e) => (clearTimeout(timer), resolve(e)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.push(waiter);
    });
  }

  close(): void {
    this.response.destroy();
  }

  private read(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        fields++;
        if (name === 'event') event = value;
        else if (name === 'id') id = value;
        else if (name === 'data') data.push(value);
      }
      if (fields === 0 || event === 'keep-alive') continue;
      const parsed: SseEvent = {
        event,
        ...(id === undefined ? {} : { id }),
        data: data.join('\n'),
      };
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(parsed);
      else this.events.push(parsed);
    }
  }

  private end(error: Error): void {
    this.ended ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

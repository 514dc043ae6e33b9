import EventSource from 'eventsource';

export interface ReceivedEvent {
  readonly type: string;
  readonly id: string;
  readonly data: string;
}

const PROTOCOL_EVENTS = ['stream-open', 'stream-reset', 'stream-error', 'keep-alive'];

/**
 * A real SSE client (the `eventsource` package: it parses the stream,
 * tracks Last-Event-ID and reconnects like a browser) that records every
 * event it receives, in order.
 */
export class SseRecorder {
  readonly received: ReceivedEvent[] = [];
  readonly source: EventSource;
  private readonly waiters: (() => void)[] = [];
  opens = 0;
  errors: { status?: number; message?: string }[] = [];

  constructor(
    url: string,
    options: { headers?: Record<string, string>; eventTypes?: string[] } = {},
  ) {
    this.source = new EventSource(url, { headers: options.headers });
    for (const type of [...PROTOCOL_EVENTS, 'message', ...(options.eventTypes ?? [])]) {
      this.source.addEventListener(type, (event: MessageEvent<string>) => {
        if (type === 'stream-open') this.opens++;
        this.received.push({ type, id: event.lastEventId, data: event.data });
        this.wake();
      });
    }
    this.source.onerror = (error) => {
      this.errors.push(error as { status?: number; message?: string });
      this.wake();
    };
  }

  /** Events of the given types (default: all but the protocol's own). */
  events(...types: string[]): ReceivedEvent[] {
    return this.received.filter((e) =>
      types.length > 0 ? types.includes(e.type) : !PROTOCOL_EVENTS.includes(e.type),
    );
  }

  /** Waits until `condition` holds, failing after `timeoutMs`. */
  async until(condition: (recorder: this) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `SSE condition not met; received: ${JSON.stringify(this.received)}; ` +
            `errors: ${JSON.stringify(this.errors.map(({ status, message }) => ({ status, message })))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.source.close();
  }

  private wake(): void {
    this.waiters.splice(0).forEach((wake) => wake());
  }
}

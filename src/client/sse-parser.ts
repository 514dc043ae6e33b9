/** One event as the SSE format delivers it, before any decoding. */
export interface SseMessage {
  /** The `event:` field, `message` when absent. */
  readonly type: string;
  /** The `id:` field of this event only; `undefined` when the event had none. */
  readonly id: string | undefined;
  /** The `data:` lines joined with `\n`. */
  readonly data: string;
}

/**
 * An incremental parser for the `text/event-stream` format (WHATWG HTML,
 * "Server-sent events"): feed it decoded text in chunks of any size; it calls
 * `onMessage` for each complete event. Comments and unknown fields are
 * skipped. Unlike `EventSource`, an event's id is only the id it carried: an
 * event without one does not inherit the previous id, so a caller can tell
 * which events move its position.
 */
export class SseParser {
  private buffer = '';
  private started = false;
  private type = '';
  private id: string | undefined;
  private data: string[] = [];
  // A chunk that ended with `\r` may be followed by the `\n` of the same line break.
  private skipLineFeed = false;

  constructor(private readonly onMessage: (message: SseMessage) => void) {}

  push(text: string): void {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLineFeed && text.startsWith('\n')) text = text.slice(1);
    this.skipLineFeed = false;
    this.buffer += text;
    let start = 0;
    for (;;) {
      const end = nextLineBreak(this.buffer, start);
      if (end === -1) break;
      const line = this.buffer.slice(start, end);
      if (this.buffer[end] === '\r') {
        if (end + 1 === this.buffer.length) this.skipLineFeed = true;
        start = this.buffer[end + 1] === '\n' ? end + 2 : end + 1;
      } else {
        start = end + 1;
      }
      this.line(line);
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
    }
  }

  private dispatch(): void {
    const { type, id, data } = this;
    this.type = '';
    this.id = undefined;
    this.data = [];
    // As in EventSource: a block without data lines is no event.
    if (data.length === 0) return;
    this.onMessage({ type: type || 'message', id, data: data.join('\n') });
  }
}

function nextLineBreak(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 10 || code === 13) return i;
  }
  return -1;
}

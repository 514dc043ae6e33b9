/**
 * The SSE wire format, compatible with django-eventstream clients. Every
 * frame the library sends, from replay, live delivery or another instance,
 * is built here, so they are byte-for-byte the same.
 */

const LINE_BREAK = /[\r\n]/;

/**
 * The headers of every stream response, direct or handed to a GRIP proxy
 * (which passes them on to the client): no caching, no transforming (the
 * `compression` middleware leaves such a response alone), no buffering by
 * nginx.
 */
export const STREAM_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

/** A stream the app holds itself also asks old proxies to keep the connection. */
export const DIRECT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  ...STREAM_HEADERS,
  Connection: 'keep-alive',
};

// Sent first: some proxies and old browsers hold back a response until they
// have seen a couple of kilobytes.
const PADDING = `:${' '.repeat(2048)}\n\n`;

export interface SseFrame {
  /** The `event:` field; omitted for the default `message` type. */
  readonly event?: string;
  /** The `id:` field; omitted when the frame must not move the client's cursor. */
  readonly id?: string;
  /** The data, one `data:` line per line of it. */
  readonly data: string;
}

export function encodeFrame(frame: SseFrame): string {
  let text = '';
  if (frame.event !== undefined) text += `event: ${singleLine('event', frame.event)}\n`;
  if (frame.id !== undefined) text += `id: ${singleLine('id', frame.id)}\n`;
  for (const line of frame.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** What a stream starts with: the padding comment, then `stream-open`. */
export const STREAM_OPEN = `${PADDING}${encodeFrame({ event: 'stream-open', data: '' })}`;

/** Sent on idle streams; it carries no id, so it never moves the cursor. */
export const KEEP_ALIVE = encodeFrame({ event: 'keep-alive', data: '' });

/** Tells the client that events of these channels were lost and it restarts from `id`. */
export function streamResetFrame(channels: readonly string[], id: string): string {
  return encodeFrame({ event: 'stream-reset', id, data: JSON.stringify({ channels }) });
}

/** A terminal error. Its id `error` is refused as a resume point. */
export function streamErrorFrame(condition: string, text: string): string {
  return encodeFrame({
    event: 'stream-error',
    id: 'error',
    data: JSON.stringify({ condition, text }),
  });
}

function singleLine(field: string, value: string): string {
  // Event types are validated before they are stored and ids are built by the
  // library; a line break here is a bug, never something to pass on.
  if (LINE_BREAK.test(value) || value.includes('\0')) {
    throw new Error(`SSE ${field} cannot contain a line break or NUL`);
  }
  return value;
}

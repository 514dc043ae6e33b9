import type { IncomingMessage } from 'node:http';

/** How long, and how much more, a refused client may send, so that it reads the answer. */
const LINGER_MS = 5_000;
const LINGER_BYTES = 4 * 1024 * 1024;

/**
 * For a request refused before its body was read. Node would read and discard
 * the rest of the body, however large, to reuse the connection; closing it at
 * once instead can reset the connection before the client has read the
 * answer (the "lingering close" problem). So the rest is discarded for a few
 * seconds and a few megabytes at most, then the connection is cut.
 */
export function discardUnreadBody(request: IncomingMessage): void {
  if (request.complete) return;
  let left = LINGER_BYTES;
  const cut = () => request.socket.destroy();
  const timer = setTimeout(cut, LINGER_MS).unref();
  request.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) cut();
  });
  request.once('close', () => clearTimeout(timer));
}

import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const CRLF = Buffer.from('\r\n');
/** Pages are encoded once for every stream (one Buffer): framed as chunks once too. */
const chunks = new WeakMap<Buffer, Buffer>();

/**
 * The socket under an SSE response whose headers are out, when writing to it
 * directly is the same as writing to the response: HTTP/1.1 chunked
 * encoding, nothing queued in the response, the socket its own, and `write`
 * not wrapped (as a `compression` middleware does). Else undefined, and the
 * response is written to.
 *
 * Why: Express gives every response a hidden class of its own (it swaps the
 * prototype, then adds `res.locals`), so each read Node's `write()` makes on
 * a response is a slow lookup. Written to 1,000 streams, an event cost about
 * 28 ms of CPU through Express's responses against 21 ms straight to their
 * sockets (bench/experiments/response-maps.ts).
 */
export function socketOf(response: ServerResponse): Socket | undefined {
  const internals = response as ServerResponse & {
    chunkedEncoding?: boolean;
    outputData?: unknown[];
    /** Set once the header has gone to the socket (`headersSent` already says so at writeHead). */
    _headerSent?: boolean;
  };
  const socket: (Socket & { _httpMessage?: unknown }) | null = response.socket;
  const owned =
    internals.chunkedEncoding === true &&
    internals._headerSent === true &&
    Array.isArray(internals.outputData) &&
    internals.outputData.length === 0 &&
    response.write === ServerResponse.prototype.write &&
    response.getHeader('content-encoding') === undefined &&
    socket !== null &&
    socket._httpMessage === response &&
    socket.writable;
  return owned ? socket : undefined;
}

/** `frames` as one HTTP/1.1 chunk; nothing for nothing (an empty chunk would end the body). */
export function chunkOf(frames: string | Buffer): Buffer | undefined {
  if (typeof frames === 'string')
    return frames.length === 0 ? undefined : frame(Buffer.from(frames));
  if (frames.length === 0) return undefined;
  let chunk = chunks.get(frames);
  if (chunk === undefined) {
    chunk = frame(frames);
    chunks.set(frames, chunk);
  }
  return chunk;
}

function frame(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, CRLF]);
}

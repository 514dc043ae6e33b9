import { once } from 'node:events';
import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
  get,
  request as httpRequest,
} from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import {
  DIRECT_STREAM_HEADERS,
  KEEP_ALIVE,
  STREAM_OPEN,
  encodeFrame,
  streamErrorFrame,
} from './sse-frames';
import { chunkOf, socketOf } from './socket-output';
import {
  type StreamCloseReason,
  StreamSession,
  type StreamSessionSettings,
} from './stream-session';

interface Served {
  readonly response: ServerResponse;
  readonly session: StreamSession;
  readonly reasons: StreamCloseReason[];
}

interface Client {
  readonly response: IncomingMessage;
  readonly body: () => string;
  readonly ended: Promise<unknown>;
}

const QUIET: StreamSessionSettings = { keepAliveMs: 60_000, slowClientTimeoutMs: 60_000 };

let server: Server;
let onRequest: (response: ServerResponse) => void = () => undefined;

beforeEach(async () => {
  server = createServer((_request, response) => onRequest(response));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterEach(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

function port(): number {
  return (server.address() as AddressInfo).port;
}

/** The session of the next request the server takes. */
function nextSession(settings: StreamSessionSettings = QUIET): Promise<Served> {
  return new Promise((resolve) => {
    onRequest = (response) => {
      const reasons: StreamCloseReason[] = [];
      const session = new StreamSession(response, settings, (reason) => reasons.push(reason));
      resolve({ response, session, reasons });
    };
  });
}

/** A client of a session that the test opens; resolves once it has the headers. */
async function openedClient(
  settings: StreamSessionSettings = QUIET,
  initialFrames?: string,
): Promise<[Client, Served]> {
  const served = nextSession(settings);
  const client = httpClient();
  const stream = await served;
  stream.session.open(initialFrames);
  return [await client, stream];
}

async function httpClient(): Promise<Client> {
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    get({ host: '127.0.0.1', port: port(), path: '/' }, resolve).on('error', reject),
  );
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => (body += chunk));
  // The server drops every connection after each test: that is no failure.
  response.on('error', () => undefined);
  const ended = new Promise((resolve) => response.once('end', resolve));
  return { response, body: () => body, ended };
}

/** A client that sends its request and then reads (almost) nothing. */
function stalledClient(): Socket {
  const socket = connect(port(), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  socket.pause();
  return socket;
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Writes until the kernel's buffers are full and the socket holds the rest. */
async function fill({ session, response }: Served): Promise<void> {
  const frame = encodeFrame({ data: 'x'.repeat(1 << 20) });
  for (let i = 0; i < 64 && response.writableLength < 4 << 20; i++) {
    session.write(frame);
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(session.canWriteNow).toBe(false);
}

describe('StreamSession', () => {
  it('opens with the stream headers, stream-open and the initial frames, then writes', async () => {
    const [{ response, body }, { session }] = await openedClient(QUIET, ': hi\n\n');
    for (const [name, value] of Object.entries(DIRECT_STREAM_HEADERS)) {
      expect(response.headers[name.toLowerCase()]).toBe(value);
    }
    const frame = encodeFrame({ event: 'greeting', id: 'a:1', data: '"hello"' });
    session.write(frame);
    await until(() => body() === `${STREAM_OPEN}: hi\n\n${frame}`);
  });

  it('sends a keep-alive after keepAliveMs of silence', async () => {
    const [client] = await openedClient({ ...QUIET, keepAliveMs: 100 });
    await until(() => client.body() === STREAM_OPEN + KEEP_ALIVE);
    await until(() => client.body() === STREAM_OPEN + KEEP_ALIVE + KEEP_ALIVE);
  });

  it('sends no keep-alive while it writes more often than keepAliveMs', async () => {
    const [client, { session }] = await openedClient({ ...QUIET, keepAliveMs: 200 });
    const frame = encodeFrame({ data: 'tick' });
    for (let i = 0; i < 12; i++) {
      session.write(frame);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await until(() => client.body() === STREAM_OPEN + frame.repeat(12));
  });

  it('is writable at once when the client keeps up', async () => {
    const [, { session, reasons }] = await openedClient();
    expect(await session.writable()).toBe(true);
    expect(reasons).toEqual([]);
  });

  it('drops a client that stops reading, as slow-client, after slowClientTimeoutMs', async () => {
    const served = nextSession({ ...QUIET, slowClientTimeoutMs: 300 });
    const socket = stalledClient();
    const closed = once(socket, 'close');
    const stream = await served;
    stream.session.open();
    await fill(stream);
    const start = Date.now();
    expect(await stream.session.writable()).toBe(false);
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);
    expect(stream.reasons).toEqual(['slow-client']);
    expect(stream.session.isClosed).toBe(true);
    // Destroyed, not ended: what it holds for the client is dropped.
    expect(stream.response.destroyed).toBe(true);
    socket.resume();
    await closed;
  });

  it('sends no keep-alive while the client has not taken what was written', async () => {
    const served = nextSession({ ...QUIET, keepAliveMs: 50 });
    const socket = stalledClient();
    const stream = await served;
    stream.session.open();
    await fill(stream);
    const held = stream.response.writableLength;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stream.response.writableLength).toBe(held);
    expect(stream.session.isClosed).toBe(false);
    stream.session.close('shutdown');
    socket.destroy();
  });

  it('can write now only while the client keeps up, and again once it has taken the rest', async () => {
    const served = nextSession();
    const socket = stalledClient();
    const stream = await served;
    stream.session.open();
    expect(stream.session.canWriteNow).toBe(true);
    await fill(stream);
    expect(stream.session.canWriteNow).toBe(false);
    socket.resume();
    await until(() => stream.session.canWriteNow);
    stream.session.close('shutdown');
    socket.destroy();
  });

  it('closes as client when the client leaves while it waits to drain', async () => {
    const served = nextSession();
    const socket = stalledClient();
    const stream = await served;
    stream.session.open();
    await fill(stream);
    const writable = stream.session.writable();
    socket.destroy();
    expect(await writable).toBe(false);
    expect(stream.reasons).toEqual(['client']);
  });

  it('fail() writes a stream-error, then ends the response', async () => {
    const [client, { session, reasons }] = await openedClient();
    session.fail('revoked', 'forbidden', 'Access to channel a was revoked');
    session.write(encodeFrame({ data: 'too late' }));
    await client.ended;
    expect(client.body()).toBe(
      STREAM_OPEN + streamErrorFrame('forbidden', 'Access to channel a was revoked'),
    );
    expect(reasons).toEqual(['revoked']);
  });

  it('closes once, on the first reason, and opens no closed stream', async () => {
    const served = nextSession();
    const pending = httpClient();
    const { session, reasons } = await served;
    session.close('shutdown');
    session.close('error');
    session.open();
    const client = await pending;
    await client.ended;
    expect(client.response.headers['content-type']).toBeUndefined();
    expect(client.body()).toBe('');
    expect(reasons).toEqual(['shutdown']);
  });

  it('closes as client when the client leaves', async () => {
    const [client, { session, reasons }] = await openedClient();
    client.response.destroy();
    await until(() => session.isClosed);
    expect(reasons).toEqual(['client']);
  });
});

/** The raw bytes a client gets for one request line, until the server ends the response. */
async function rawAnswer(requestLine: string, serve: (response: ServerResponse) => void) {
  onRequest = serve;
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.write(`${requestLine}\r\nHost: x\r\n\r\n`);
  let text = '';
  socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
  await once(socket, 'end');
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

function openStream(response: ServerResponse): void {
  response.writeHead(200, { 'Content-Type': 'text/event-stream' });
  response.flushHeaders();
}

describe('socket output', () => {
  it('frames a page once as an HTTP chunk, and nothing as nothing', () => {
    const page = Buffer.from('data: é\n\n');
    const chunk = chunkOf(page);
    expect(chunk?.toString()).toBe(`${page.length.toString(16)}\r\ndata: é\n\n\r\n`);
    expect(chunkOf(page)).toBe(chunk);
    expect(chunkOf('data: 1\n\n')?.toString()).toBe('9\r\ndata: 1\n\n\r\n');
    expect(chunkOf('')).toBeUndefined();
    expect(chunkOf(Buffer.alloc(0))).toBeUndefined();
  });

  it('writes a session straight to the socket, in valid chunks the client reads back', async () => {
    let direct: unknown;
    const body = await rawAnswer('GET / HTTP/1.1', (response) => {
      const session = new StreamSession(
        response,
        { keepAliveMs: 60_000, slowClientTimeoutMs: 60_000 },
        () => undefined,
      );
      session.open();
      direct = socketOf(response);
      session.write(Buffer.from('data: 1\n\n'));
      session.write('');
      session.write('data: 2\n\n');
      session.close('complete');
    });
    expect(direct).toBeDefined();
    const open = Buffer.byteLength(STREAM_OPEN).toString(16);
    expect(body).toBe(
      `${open}\r\n${STREAM_OPEN}\r\n9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n`,
    );
  });

  it('keeps to the response where its socket would not be the same', async () => {
    const found: Record<string, unknown> = {};
    // HTTP/1.0: no chunked encoding.
    await rawAnswer('GET / HTTP/1.0', (response) => {
      openStream(response);
      found.http10 = socketOf(response);
      response.end();
    });
    // A compression middleware wraps write on the response.
    await rawAnswer('GET / HTTP/1.1', (response) => {
      const write = response.write.bind(response) as (chunk: unknown) => boolean;
      response.write = ((chunk: unknown) => write(chunk)) as ServerResponse['write'];
      openStream(response);
      found.wrapped = socketOf(response);
      response.end();
    });
    await rawAnswer('GET / HTTP/1.1', (response) => {
      response.setHeader('Content-Encoding', 'gzip');
      openStream(response);
      found.encoded = socketOf(response);
      response.end();
    });
    // Headers not out yet.
    await rawAnswer('GET / HTTP/1.1', (response) => {
      response.writeHead(200, { 'Content-Type': 'text/event-stream' });
      found.unsent = socketOf(response);
      response.end();
    });
    expect(found).toEqual({
      http10: undefined,
      wrapped: undefined,
      encoded: undefined,
      unsent: undefined,
    });
  });

  it('lets a wrapped response see every write', async () => {
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      onRequest = (response) => {
        const write = response.write.bind(response) as (chunk: string | Buffer) => boolean;
        response.write = ((chunk: string | Buffer) => {
          seen.push(chunk.toString());
          return write(chunk);
        }) as ServerResponse['write'];
        const session = new StreamSession(
          response,
          { keepAliveMs: 60_000, slowClientTimeoutMs: 60_000 },
          () => undefined,
        );
        session.open();
        session.write('data: 1\n\n');
        session.close('complete');
      };
      httpRequest({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' }, (answer) => {
        answer.resume();
        answer.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    expect(seen).toEqual([STREAM_OPEN, 'data: 1\n\n']);
  });
});

import { once } from 'node:events';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { chunkOf, socketOf } from './socket-output';
import { STREAM_OPEN } from './sse-frames';
import { StreamSession } from './stream-session';

let server: Server;
let onRequest: (response: ServerResponse) => void;

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

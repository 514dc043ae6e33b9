/**
 * The floor of any HTTP route that publishes, for `npm run bench`: a bare
 * `node:http` server, in a process of its own as the bundled server is, that
 * calls `sendEvent` with the posted event and answers 201, with none of the
 * bundled server's checks. Prints `Listening on` once it listens.
 */
import { createServer } from 'node:http';
import { startEventStream } from '../test/harness/event-stream-app';

interface Posted {
  readonly channel: string;
  readonly type: string;
  readonly data: unknown;
}

async function main(): Promise<void> {
  const stream = await startEventStream({ databaseUrl: process.env.DATABASE_URL });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { channel, type, data } = JSON.parse(Buffer.concat(chunks).toString()) as Posted;
      stream.events.sendEvent(channel, type, data).then(
        (record) => {
          const body = JSON.stringify({ ids: [record.id] });
          response
            .writeHead(201, {
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(body),
            })
            .end(body);
        },
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    });
  });
  const port = Number(process.env.PORT);
  server.listen(port, '127.0.0.1', () => console.log(`Listening on http://127.0.0.1:${port}`));
}

void main();

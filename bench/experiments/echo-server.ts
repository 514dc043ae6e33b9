/**
 * For publish-stages.ts: a bare `node:http` server that reads the posted
 * body and answers 201 at once, storing nothing: the round trip alone.
 * Prints `Listening on` once it listens.
 */
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const body = JSON.stringify({ ids: ['echo:1'] });
    response
      .writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': body.length })
      .end(body);
  });
});
const port = Number(process.env.PORT);
server.listen(port, '127.0.0.1', () => console.log(`Listening on http://127.0.0.1:${port}`));

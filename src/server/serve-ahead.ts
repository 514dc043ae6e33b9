import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Serves the requests `matches` picks with `listener` before the framework
 * that listens on `server` (Nest's Express app) sees them; all others go on
 * to it as before. For a route that is hot enough for the framework's
 * per-request work to be most of its cost.
 */
export function serveAhead(
  server: Server,
  matches: (request: IncomingMessage) => boolean,
  listener: Listener,
): void {
  const framework = server.listeners('request') as Listener[];
  if (framework.length !== 1) {
    throw new Error(`Expected one request listener on the server, found ${framework.length}`);
  }
  const [next] = framework;
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) =>
    matches(request) ? listener(request, response) : next.call(server, request, response),
  );
}

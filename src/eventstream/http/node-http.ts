import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The Node request and response under what a Nest platform hands to a
 * controller: Express' objects are Node's own; Fastify wraps them (`raw`),
 * and must be told that the handler answers by itself (`hijack`).
 */
export function nodeHttp(
  request: object,
  response: object,
): { request: IncomingMessage; response: ServerResponse } {
  const reply = response as { raw?: ServerResponse; hijack?: () => void };
  if (reply.raw && typeof reply.hijack === 'function') {
    reply.hijack();
    return { request: (request as { raw: IncomingMessage }).raw, response: reply.raw };
  }
  return { request: request as IncomingMessage, response: response as ServerResponse };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventStreamConfig } from '../options/eventstream-config';

// EventSource sends Last-Event-ID on reconnect and Cache-Control on some
// browsers; both must pass a preflight when the page is on another origin.
const ALLOWED_HEADERS = 'Last-Event-ID, Cache-Control';

/** Sets CORS headers for an allowed origin; returns whether the origin is allowed. */
export function applyCors(
  policy: EventStreamConfig['cors'],
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const origin = request.headers.origin;
  if (!policy || !origin) return false;
  const anyOrigin = policy.origins === '*';
  if (!anyOrigin && !policy.origins.includes(origin)) return false;
  // With credentials a browser refuses `*`, so the origin is echoed instead.
  const allowOrigin = anyOrigin && !policy.credentials ? '*' : origin;
  response.setHeader('Access-Control-Allow-Origin', allowOrigin);
  if (allowOrigin !== '*') response.setHeader('Vary', 'Origin');
  if (policy.credentials) response.setHeader('Access-Control-Allow-Credentials', 'true');
  // A page on another origin reads it only if exposed: the client waits as a refusal asks.
  response.setHeader('Access-Control-Expose-Headers', 'Retry-After');
  return true;
}

/** Answers a CORS preflight (OPTIONS) request. */
export function answerPreflight(
  policy: EventStreamConfig['cors'],
  request: IncomingMessage,
  response: ServerResponse,
): void {
  if (applyCors(policy, request, response) && policy) {
    response.setHeader('Access-Control-Allow-Methods', 'GET, OPTIONS');
    response.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    response.setHeader('Access-Control-Max-Age', String(policy.maxAgeSeconds));
  }
  response.statusCode = 204;
  response.end();
}

import type { ChannelAuthorizer } from '../auth/channel-authorizer.interface';
import { assertCanRead } from '../auth/authorize';
import type { EventStreamConfig } from '../options/eventstream-config';
import { applyCors } from './cors';
import { writeErrorResponse } from './error-response';
import { nodeHttp } from './node-http';

/** What a JSON read of one channel needs from the module. */
export interface ChannelReadContext {
  readonly config: EventStreamConfig;
  readonly authorizer: ChannelAuthorizer<unknown, unknown>;
}

/**
 * Answers a JSON read of one channel (history, presence): CORS, the query,
 * the authorizer for the request's user, then the body; a failure as every
 * route writes one (400 for a bad query, 401/403 when refused).
 */
export async function serveChannelRead<Query extends { readonly channel: string }>(
  { config, authorizer }: ChannelReadContext,
  request: object,
  response: object,
  parse: (url: string | undefined) => Query,
  read: (query: Query) => Promise<object>,
): Promise<void> {
  const http = nodeHttp(request, response);
  try {
    applyCors(config.cors, http.request, http.response);
    const query = parse(http.request.url);
    await assertCanRead(authorizer, config.resolveUser(request), [query.channel], request);
    const body = await read(query);
    http.response.statusCode = 200;
    http.response.setHeader('Content-Type', 'application/json; charset=utf-8');
    http.response.setHeader('Cache-Control', 'no-store');
    http.response.end(JSON.stringify(body));
  } catch (error) {
    writeErrorResponse(http.request, http.response, error);
  }
}

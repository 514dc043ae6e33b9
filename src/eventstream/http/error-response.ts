import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf } from '../errors/error-message';
import {
  ChannelAccessDeniedError,
  EventPositionAheadError,
  EventPositionTooOldError,
  EventStoreError,
  EventStoreUnavailableError,
  InvalidChannelError,
  InvalidPositionError,
  InvalidQueryError,
  ProxyRequestRefusedError,
  TooManyStreamsError,
} from '../errors/eventstream.errors';
import { STREAM_HEADERS, streamErrorFrame } from '../sse/sse-frames';

export interface HttpFailure {
  readonly status: number;
  readonly condition: string;
  readonly message: string;
  /**
   * A refusal for load: sent as `Retry-After`, with `Connection: close` so
   * that the refused client does not keep the socket the cap protects.
   */
  readonly retryAfterSeconds?: number;
}

/** `Retry-After` of a stream refused by `maxStreams` or `maxStreamsPerClient`. */
export const STREAM_LIMIT_RETRY_AFTER_SECONDS = 10;

const logger = new Logger('EventStream');

/** The one place where the library's errors become HTTP statuses. */
export function httpFailure(error: unknown): HttpFailure {
  if (
    error instanceof InvalidChannelError ||
    error instanceof InvalidPositionError ||
    error instanceof InvalidQueryError ||
    error instanceof EventPositionAheadError
  ) {
    return { status: 400, condition: 'bad-request', message: error.message };
  }
  if (error instanceof EventPositionTooOldError) {
    return { status: 410, condition: 'gone', message: error.message };
  }
  if (error instanceof ProxyRequestRefusedError) {
    return { status: 403, condition: 'forbidden', message: error.message };
  }
  if (error instanceof ChannelAccessDeniedError) {
    return error.authenticated
      ? { status: 403, condition: 'forbidden', message: error.message }
      : { status: 401, condition: 'unauthorized', message: error.message };
  }
  if (error instanceof TooManyStreamsError) {
    return {
      ...(error.limit === 'maxStreams'
        ? { status: 503, condition: 'unavailable' }
        : { status: 429, condition: 'too-many-requests' }),
      message: error.message,
      retryAfterSeconds: STREAM_LIMIT_RETRY_AFTER_SECONDS,
    };
  }
  if (error instanceof EventStoreUnavailableError) {
    return { status: 503, condition: 'unavailable', message: 'The event store is unavailable' };
  }
  if (error instanceof EventStoreError) {
    logger.error(error.message);
    return { status: 500, condition: 'internal-error', message: 'The event store failed' };
  }
  logger.error(`Stream request failed: ${messageOf(error)}`);
  return { status: 500, condition: 'internal-error', message: 'Internal error' };
}

/**
 * Answers a failed stream request with a real status (a browser keeps
 * reconnecting to a 200 forever): a single `stream-error` event for SSE
 * clients, JSON for everyone else.
 */
export function writeErrorResponse(
  request: IncomingMessage,
  response: ServerResponse,
  error: unknown,
): void {
  writeFailure(request, response, httpFailure(error));
}

/** Answers with `failure`: a single `stream-error` event for SSE clients, JSON otherwise. */
export function writeFailure(
  request: IncomingMessage,
  response: ServerResponse,
  failure: HttpFailure,
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const wantsStream = (request.headers.accept ?? '').includes('text/event-stream');
  response.statusCode = failure.status;
  response.setHeader('Cache-Control', STREAM_HEADERS['Cache-Control']);
  if (failure.retryAfterSeconds !== undefined) {
    response.setHeader('Retry-After', String(failure.retryAfterSeconds));
    response.setHeader('Connection', 'close');
  }
  if (wantsStream) {
    response.setHeader('Content-Type', STREAM_HEADERS['Content-Type']);
    response.end(streamErrorFrame(failure.condition, failure.message));
  } else {
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(
      JSON.stringify({
        statusCode: failure.status,
        error: failure.condition,
        message: failure.message,
      }),
    );
  }
}

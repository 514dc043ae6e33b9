import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import {
  EventStoreError,
  EventStoreUnavailableError,
  EventStreamError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
} from '../../eventstream';
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeyProblem } from './idempotency-key-header';

type Answer = [status: number, label: string, message: string | string[]];

/**
 * Maps the library's errors on publish: a bad event or idempotency key is
 * 400, a key reused for another body 422 (as the IETF idempotency-key draft
 * asks), a database that cannot be reached 503 (retry later), any other
 * database failure 500.
 */
@Catch(EventStreamError)
export class EventStreamErrorFilter implements ExceptionFilter {
  catch(error: EventStreamError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const [status, label, message] = answerTo(error);
    response.statusCode = status;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(JSON.stringify({ statusCode: status, error: label, message }));
  }
}

function answerTo(error: EventStreamError): Answer {
  if (error instanceof EventStoreUnavailableError) {
    return [503, 'Service Unavailable', 'The event store is unavailable'];
  }
  if (error instanceof EventStoreError)
    return [500, 'Internal Server Error', 'The event store failed'];
  if (error instanceof IdempotencyKeyReusedError) {
    return [
      422,
      'Unprocessable Content',
      `${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(error.key)} was already used with another body; ` +
        'a retry must send the same body, and a new request needs a new key',
    ];
  }
  if (error instanceof InvalidIdempotencyKeyError) {
    return [400, 'Bad Request', [idempotencyKeyProblem(error.reason)]];
  }
  return [400, 'Bad Request', [error.message]];
}

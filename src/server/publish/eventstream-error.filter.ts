import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import {
  EventStoreError,
  EventStoreUnavailableError,
  EventStreamError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
} from '../../eventstream';
import { writeJson } from '../json-body/write-json';
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeyProblem } from './idempotency-key-header';

/** A status and the JSON body that goes with it, as Nest's exception responses are shaped. */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: { statusCode: number; error: string; message: string | string[] };
}

/** Maps the library's errors on a route that sends events: see {@link eventStreamErrorAnswer}. */
@Catch(EventStreamError)
export class EventStreamErrorFilter implements ExceptionFilter {
  catch(error: EventStreamError, host: ArgumentsHost): void {
    const { status, body } = eventStreamErrorAnswer(error);
    writeJson(host.switchToHttp().getResponse<ServerResponse>(), status, body);
  }
}

/**
 * A bad event or idempotency key is 400, a key reused for another body 422
 * (as the IETF idempotency-key draft asks), a database that cannot be
 * reached 503 (retry later), any other database failure 500.
 */
export function eventStreamErrorAnswer(error: EventStreamError): ErrorAnswer {
  const answer = (status: number, error: string, message: string | string[]) => ({
    status,
    body: { statusCode: status, error, message },
  });
  if (error instanceof EventStoreUnavailableError) {
    return answer(503, 'Service Unavailable', 'The event store is unavailable');
  }
  if (error instanceof EventStoreError) {
    return answer(500, 'Internal Server Error', 'The event store failed');
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return answer(
      422,
      'Unprocessable Content',
      `${IDEMPOTENCY_KEY_HEADER} ${JSON.stringify(error.key)} was already used with another body; ` +
        'a retry must send the same body, and a new request needs a new key',
    );
  }
  if (error instanceof InvalidIdempotencyKeyError) {
    return answer(400, 'Bad Request', [idempotencyKeyProblem(error.reason)]);
  }
  return answer(400, 'Bad Request', [error.message]);
}

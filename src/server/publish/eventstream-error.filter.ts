import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { EventStoreError, EventStoreUnavailableError, EventStreamError } from '../../eventstream';

/**
 * Maps the library's errors on publish: a bad event is 400, a database that
 * cannot be reached 503 (retry later), any other database failure 500.
 */
@Catch(EventStreamError)
export class EventStreamErrorFilter implements ExceptionFilter {
  catch(error: EventStreamError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const [status, label, message] =
      error instanceof EventStoreUnavailableError
        ? [503, 'Service Unavailable', 'The event store is unavailable']
        : error instanceof EventStoreError
          ? [500, 'Internal Server Error', 'The event store failed']
          : [400, 'Bad Request', [error.message]];
    response.statusCode = status;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(JSON.stringify({ statusCode: status, error: label, message }));
  }
}

import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { EventStoreError, EventStoreUnavailableError, EventStreamError } from '../../eventstream';

/** Maps the library's errors on publish to 400 (bad event) or 503 (no database). */
@Catch(EventStreamError)
export class EventStreamErrorFilter implements ExceptionFilter {
  catch(error: EventStreamError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<ServerResponse>();
    const unavailable =
      error instanceof EventStoreUnavailableError || error instanceof EventStoreError;
    const status = unavailable ? 503 : 400;
    response.statusCode = status;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.end(
      JSON.stringify({
        statusCode: status,
        error: unavailable ? 'Service Unavailable' : 'Bad Request',
        message: unavailable ? 'The event store is unavailable' : [error.message],
      }),
    );
  }
}

import { Controller, Get, Options, Req, Res, type Type } from '@nestjs/common';
import { EventHistoryResponder } from './event-history-responder';
import { EventStreamResponder } from './event-stream-responder';

/**
 * The built-in routes at the path the module was given: the stream,
 * `GET /<path>?channel=…`, and its history, `GET /<path>/history?channel=…`.
 */
export function createEventsController(path: string): Type<unknown> {
  @Controller(path)
  class EventsController {
    constructor(
      private readonly responder: EventStreamResponder,
      private readonly history: EventHistoryResponder,
    ) {}

    @Get()
    stream(@Req() request: object, @Res() response: object): Promise<void> {
      return this.responder.serve(request, response);
    }

    @Options()
    preflight(@Req() request: object, @Res() response: object): void {
      this.responder.preflight(request, response);
    }

    @Get('history')
    page(@Req() request: object, @Res() response: object): Promise<void> {
      return this.history.serve(request, response);
    }

    @Options('history')
    historyPreflight(@Req() request: object, @Res() response: object): void {
      this.history.preflight(request, response);
    }
  }
  return EventsController;
}

import { Controller, Get, Options, Req, Res, type Type } from '@nestjs/common';
import { EventStreamResponder } from './event-stream-responder';

/** The built-in stream route, `GET /<path>?channel=…`, at the path the module was given. */
export function createEventsController(path: string): Type<unknown> {
  @Controller(path)
  class EventsController {
    constructor(private readonly responder: EventStreamResponder) {}

    @Get()
    stream(@Req() request: object, @Res() response: object): Promise<void> {
      return this.responder.serve(request, response);
    }

    @Options()
    preflight(@Req() request: object, @Res() response: object): void {
      this.responder.preflight(request, response);
    }
  }
  return EventsController;
}

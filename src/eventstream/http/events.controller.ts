import { Controller, Get, Options, Param, Req, Res, type Type } from '@nestjs/common';
import { serveClientScript } from './client-script';
import { EventHistoryResponder } from './event-history-responder';
import { EventPresenceResponder } from './event-presence-responder';
import { EventStreamResponder } from './event-stream-responder';
import { nodeHttp } from './node-http';

/**
 * The built-in routes at the path the module was given: the stream,
 * `GET /<path>?channel=…`, its history, `GET /<path>/history?channel=…`, who
 * is on it, `GET /<path>/presence?channel=…`, and the browser client,
 * `GET /<path>/client/index.js`.
 */
export function createEventsController(path: string): Type<unknown> {
  @Controller(path)
  class EventsController {
    constructor(
      private readonly responder: EventStreamResponder,
      private readonly history: EventHistoryResponder,
      private readonly presence: EventPresenceResponder,
    ) {}

    @Get()
    stream(@Req() request: object, @Res() response: object): Promise<void> {
      return this.responder.serve(request, response);
    }

    /** The browser client, for `<script type="module">` pages: `<path>/client/index.js`. */
    @Get('client/:file')
    clientScript(
      @Req() request: object,
      @Res() response: object,
      @Param('file') file: string,
    ): void {
      const http = nodeHttp(request, response);
      serveClientScript(http.request, http.response, file);
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

    @Get('presence')
    who(@Req() request: object, @Res() response: object): Promise<void> {
      return this.presence.serve(request, response);
    }

    @Options('presence')
    presencePreflight(@Req() request: object, @Res() response: object): void {
      this.presence.preflight(request, response);
    }
  }
  return EventsController;
}

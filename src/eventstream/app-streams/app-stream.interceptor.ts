import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, of } from 'rxjs';
import { AppStreams } from './app-streams';
import { attachStreamSignal } from './stream-signal.decorator';
import type { EventStreamRouteOptions } from './event-stream-route.options';

export const EVENT_STREAM_ROUTE_OPTIONS = Symbol('EVENT_STREAM_ROUTE_OPTIONS');

/**
 * Applied by {@link EventStreamRoute}: serves what the method returns as an
 * SSE stream. Guards have run by then; pipes and the method run when the
 * stream subscribes to `next.handle()`, so their errors are answered here.
 */
@Injectable()
export class AppStreamInterceptor implements NestInterceptor {
  constructor(
    private readonly streams: AppStreams,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<undefined> {
    const options =
      this.reflector.get<EventStreamRouteOptions<never> | undefined>(
        EVENT_STREAM_ROUTE_OPTIONS,
        context.getHandler(),
      ) ?? {};
    const http = context.switchToHttp();
    const request = http.getRequest<object>();
    const ended = new AbortController();
    attachStreamSignal(request, ended.signal);
    void this.streams.serve(request, http.getResponse<object>(), next.handle(), options, ended);
    // The stream goes on by itself; Nest has nothing left to send, since the
    // route counts as one that answers with @Res().
    return of(undefined);
  }
}

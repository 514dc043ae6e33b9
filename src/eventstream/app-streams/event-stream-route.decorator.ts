import { applyDecorators, Get, Res, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { AppStreamInterceptor, EVENT_STREAM_ROUTE_OPTIONS } from './app-stream.interceptor';
import type { EventStreamRouteOptions } from './event-stream-route.options';

/**
 * A GET route that streams, as SSE, the events its method yields or emits:
 * the method returns an `AsyncIterable<StreamEvent>` (an `async *` method)
 * or an `Observable<StreamEvent>`. The stream has the library's wire format,
 * headers, CORS and keep-alives; a client that leaves stops the method
 * (`return()` on the iterator, or unsubscribe); application shutdown ends it.
 * Events are kept nowhere unless `persist` names a channel.
 *
 * @example
 * ```ts
 * @EventStreamRoute('clock')
 * clock() {
 *   return interval(1000).pipe(map(() => ({ type: 'time', data: new Date().toISOString() })));
 * }
 * ```
 */
export function EventStreamRoute<Request = unknown>(
  path?: string | string[],
  options: EventStreamRouteOptions<Request> = {},
): MethodDecorator {
  return applyDecorators(
    Get(path),
    SetMetadata(EVENT_STREAM_ROUTE_OPTIONS, options),
    UseInterceptors(AppStreamInterceptor),
    answersByItself,
  );
}

/**
 * Nest sends a handler's return value unless the handler takes `@Res()`.
 * The stream is written by the interceptor, so the method gets a hidden
 * `@Res()` parameter after its own ones; it never sees it.
 */
const answersByItself: MethodDecorator = (target, key, descriptor) => {
  const method = descriptor.value as unknown as (...args: unknown[]) => unknown;
  const params = (Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) ??
    {}) as Record<string, { index: number }>;
  const types = (Reflect.getMetadata('design:paramtypes', target, key) ?? []) as unknown[];
  const index = Math.max(
    method.length,
    types.length,
    ...Object.values(params).map((param) => param.index + 1),
  );
  Res()(target, key, index);
};

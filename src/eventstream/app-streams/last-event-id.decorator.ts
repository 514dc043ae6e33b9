import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { readLastEventId } from './last-event-id';

/**
 * The client's `Last-Event-ID` (header, else `?lastEventId=`), checked, or
 * `undefined`. On an {@link EventStreamRoute} a bad one is answered with a
 * 400 before the method runs.
 *
 * @example
 * ```ts
 * @EventStreamRoute('feed')
 * async *feed(@LastEventId() lastEventId?: string) {
 *   for await (const item of this.items.after(lastEventId)) {
 *     yield { type: 'item', id: item.id, data: item };
 *   }
 * }
 * ```
 */
export const LastEventId = createParamDecorator(
  (_: unknown, context: ExecutionContext): string | undefined => {
    const request = context.switchToHttp().getRequest<object>();
    // Fastify wraps Node's request; the headers and URL are the same.
    const raw = (request as { raw?: IncomingMessage }).raw ?? (request as IncomingMessage);
    return readLastEventId(raw);
  },
);

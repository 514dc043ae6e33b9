import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

const signals = new WeakMap<object, AbortSignal>();

/** Makes `signal` the one {@link StreamSignal} gives the method serving `request`. */
export function attachStreamSignal(request: object, signal: AbortSignal): void {
  signals.set(request, signal);
}

/**
 * An `AbortSignal` that aborts when the stream ends: the client left, the
 * app is shutting down, or the stream failed. `return()` reaches an async
 * generator only at its next `yield`; one that waits for something that may
 * take long (a message, a job) should give up on this signal.
 *
 * @example
 * ```ts
 * @EventStreamRoute('inbox')
 * async *inbox(@StreamSignal() signal: AbortSignal) {
 *   for await (const message of this.inbox.watch({ signal })) {
 *     yield { type: 'message', data: message };
 *   }
 * }
 * ```
 */
export const StreamSignal = createParamDecorator(
  (_: unknown, context: ExecutionContext): AbortSignal => {
    const signal = signals.get(context.switchToHttp().getRequest<object>());
    if (!signal) throw new Error('@StreamSignal() is only for methods of an @EventStreamRoute()');
    return signal;
  },
);

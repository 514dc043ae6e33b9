import { type Observable, Subscription } from 'rxjs';

/** The events of a route, pulled one at a time, whatever the method returned. */
export interface PullSource {
  next(): Promise<IteratorResult<unknown>>;
  /** Frees the app's resources: unsubscribes, or calls the iterator's `return()`. */
  stop(): void;
}

/** An Observable emitted more events than this while the client was not reading. */
export class PendingLimitError extends Error {}

/**
 * Pulls from what Nest's interceptor chain hands over: the handler's
 * Observable (whose values it emits), or its one value. When that one value
 * is an async iterable, it is iterated instead; pulling from it is the
 * back-pressure, since the generator runs only as fast as the client reads.
 * An Observable cannot be paused, so its values wait here, up to `maxPending`.
 */
export function pullFrom(source$: Observable<unknown>, maxPending: number): PullSource {
  const pending: unknown[] = [];
  let outcome: { done: true } | { error: unknown } | undefined;
  let waiter: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | undefined;
  let iterator: AsyncIterator<unknown> | undefined;
  let first = true;
  let stopped = false;
  // A container, so that values emitted synchronously while subscribing can
  // already unsubscribe.
  const subscription = new Subscription();

  const settle = () => {
    const wake = waiter;
    if (!wake) return;
    if (pending.length > 0) {
      waiter = undefined;
      wake.resolve(pending.shift());
    } else if (outcome) {
      waiter = undefined;
      if ('error' in outcome) wake.reject(outcome.error);
      else wake.resolve(DONE);
    }
  };

  subscription.add(
    source$.subscribe({
      next: (value) => {
        if (outcome) return;
        pending.push(value);
        if (pending.length > maxPending) {
          outcome = { error: new PendingLimitError(`more than ${maxPending} events waiting`) };
          pending.length = 0;
          subscription.unsubscribe();
        }
        settle();
      },
      error: (error: unknown) => {
        outcome ??= { error };
        settle();
      },
      complete: () => {
        outcome ??= { done: true };
        settle();
      },
    }),
  );

  const take = () =>
    new Promise<unknown>((resolve, reject) => {
      waiter = { resolve, reject };
      settle();
    });

  return {
    async next() {
      if (iterator) return iterator.next();
      const value = await take();
      if (value === DONE) return { done: true, value: undefined };
      if (first && isAsyncIterable(value)) {
        first = false;
        iterator = value[Symbol.asyncIterator]();
        if (stopped) return { done: true, value: undefined };
        return iterator.next();
      }
      first = false;
      return { done: false, value };
    },
    stop() {
      if (stopped) return;
      stopped = true;
      subscription.unsubscribe();
      outcome ??= { done: true };
      settle();
      // An async generator runs its `finally` blocks once it gets to a
      // `yield` (or right away when it is suspended at one).
      iterator?.return?.().catch(() => undefined);
    },
  };
}

const DONE = Symbol('done');

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

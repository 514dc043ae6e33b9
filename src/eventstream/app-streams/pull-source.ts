import { type Observable, Subject, takeUntil } from 'rxjs';

/** The events of a route, pulled one at a time, whatever the method returned. */
export interface PullSource {
  next(): Promise<IteratorResult<unknown>>;
  /** Frees the app's resources: unsubscribes, or calls the iterator's `return()`. */
  stop(): void;
  /**
   * Calls `callback` when the Observable gets too far ahead: the stream must
   * not wait for a client that does not read to find out.
   */
  onOverflow(callback: () => void): void;
}

/** An Observable got further ahead of the client than the limit allows. */
export class PendingLimitError extends Error {}

/** How far an Observable may get ahead of the client it streams to. */
export interface PendingLimit {
  /** The most that may wait, in the units of `weigh`. */
  readonly max: number;
  /** What one value counts for while it waits. */
  readonly weigh: (value: unknown) => number;
}

/**
 * Pulls from what Nest's interceptor chain hands over: the handler's
 * Observable (whose values it emits), or its one value. When that one value
 * is an async iterable, it is iterated instead; pulling from it is the
 * back-pressure, since the generator runs only as fast as the client reads.
 * An Observable cannot be paused, so its values wait here, up to `limit`.
 */
export function pullFrom(source$: Observable<unknown>, limit: PendingLimit): PullSource {
  const pending: { value: unknown; weight: number }[] = [];
  let pendingWeight = 0;
  let outcome: { done: true } | { error: unknown } | undefined;
  let waiter: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | undefined;
  let iterator: AsyncIterator<unknown> | undefined;
  let first = true;
  let stopped = false;
  let overflowed: (() => void) | undefined;
  // Ends the subscription also while the source is still emitting
  // synchronously, before subscribe() has even returned.
  const stop$ = new Subject<void>();

  const settle = () => {
    const wake = waiter;
    if (!wake) return;
    if (pending.length > 0) {
      waiter = undefined;
      const { value, weight } = pending.shift()!;
      pendingWeight -= weight;
      wake.resolve(value);
    } else if (outcome) {
      waiter = undefined;
      if ('error' in outcome) wake.reject(outcome.error);
      else wake.resolve(DONE);
    }
  };

  source$.pipe(takeUntil(stop$)).subscribe({
    next: (value) => {
      if (outcome) return;
      const weight = limit.weigh(value);
      pending.push({ value, weight });
      pendingWeight += weight;
      if (pendingWeight > limit.max) {
        outcome = {
          error: new PendingLimitError(`more than ${limit.max} waiting for the client`),
        };
        pending.length = 0;
        stop$.next();
        overflowed?.();
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
  });

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
    onOverflow(callback) {
      overflowed = callback;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      stop$.next();
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

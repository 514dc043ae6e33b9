import type { EventEmitter } from 'node:events';

/** A response, or its socket: what a stream writes to. */
interface Drainable extends EventEmitter {
  readonly writableNeedDrain: boolean;
}

/**
 * Resolves true once the client has taken what was written to `output`,
 * false when `response` closes first or `output` has not drained after
 * `timeoutMs`.
 */
export async function waitForDrain(
  output: Drainable,
  response: EventEmitter,
  timeoutMs: number,
): Promise<boolean> {
  if (!output.writableNeedDrain) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      output.off('drain', onDrain);
      response.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    output.once('drain', onDrain);
    response.once('close', onClose);
  });
}

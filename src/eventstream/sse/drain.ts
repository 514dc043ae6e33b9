import type { ServerResponse } from 'node:http';

/**
 * Resolves true once the client has taken what was written to `response`,
 * false when it closes first or has not drained after `timeoutMs`.
 */
export async function waitForDrain(response: ServerResponse, timeoutMs: number): Promise<boolean> {
  if (!response.writableNeedDrain) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      response.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    response.once('drain', onDrain);
    response.once('close', onClose);
  });
}

import type * as Zmq from 'zeromq';

export const ZEROMQ_MISSING =
  "grip.stats needs the 'zeromq' package, an optional peer dependency of nestjs-eventstream: npm install zeromq@^6.8";

/**
 * `zeromq`, loaded only when `grip.stats` names a stats socket: it is a
 * native module that apps without presence in GRIP mode need not install.
 */
export function zeromqLibrary(): typeof Zmq {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('zeromq') as typeof Zmq;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && String(error).includes("'zeromq'")) {
      throw new Error(ZEROMQ_MISSING, { cause: error });
    }
    throw error;
  }
}

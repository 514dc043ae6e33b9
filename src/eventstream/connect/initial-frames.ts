import { InvalidEventDataError } from '../errors/eventstream.errors';
import type { EventLimits } from '../events/event-limits';
import { assertValidEventType, encodeEventData } from '../events/event-rules';
import { encodeFrame } from '../sse/sse-frames';
import type { StreamConnectContext, StreamConnectHook } from './stream-connect-hook.interface';

/** All initial events of a stream together, at most: they must fit in one GRIP reply. */
export const MAX_INITIAL_BYTES = 64 * 1024;

/**
 * The hook's events as SSE frames without an id line, which leaves the
 * client's last event id as it was. Checked by the rules of stored events.
 */
export async function initialFrames(
  hook: StreamConnectHook<unknown, unknown>,
  context: StreamConnectContext<unknown, unknown>,
  limits: EventLimits,
): Promise<string> {
  const events = (await hook.onConnect(context)) ?? [];
  if (!Array.isArray(events)) {
    throw new TypeError('onConnect must return an array of { type, data } events');
  }
  let frames = '';
  for (const event of events as readonly unknown[]) {
    if (typeof event !== 'object' || event === null) {
      throw new TypeError('onConnect must return an array of { type, data } events');
    }
    const { type, data } = event as { type: unknown; data: unknown };
    assertValidEventType(type, limits);
    frames += encodeFrame({ event: type, data: encodeEventData(data, limits) });
  }
  // Counted as a GRIP reply carries them, with each `%` escaped to two.
  const size = Buffer.byteLength(frames) + (frames.match(/%/g)?.length ?? 0);
  if (size > MAX_INITIAL_BYTES) {
    throw new InvalidEventDataError(
      `the initial events of a stream take at most ${MAX_INITIAL_BYTES} bytes together`,
    );
  }
  return frames;
}

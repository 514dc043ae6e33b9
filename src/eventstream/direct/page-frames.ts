import { formatEventId } from '../events/event-id';
import { encodeFrame } from '../sse/sse-frames';
import type { CommittedEvent } from '../delivery/committed-event';

/**
 * The frames of a page for streams of one channel, whose ids are the
 * event's own. When an event arrives, every stream of its channel gets the
 * same page from one shared read (or the events just committed), so it is
 * encoded once for all of them, down to the bytes: each stream writes the
 * same Buffer, where a string would be encoded again for each socket.
 */
const singleChannelFrames = new WeakMap<readonly CommittedEvent[], Buffer>();

export function framesOfPage(events: readonly CommittedEvent[]): Buffer {
  let bytes = singleChannelFrames.get(events);
  if (bytes === undefined) {
    let text = '';
    for (const event of events) {
      text += encodeFrame({
        event: event.type,
        id: formatEventId(event.channel, event.seq),
        data: event.json,
      });
    }
    bytes = Buffer.from(text);
    singleChannelFrames.set(events, bytes);
  }
  return bytes;
}

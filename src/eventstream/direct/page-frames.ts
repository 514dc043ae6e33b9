import { formatEventId } from '../events/event-id';
import { encodeFrame } from '../sse/sse-frames';
import type { StoredEvent } from '../storage/event-store.interface';

/**
 * The frames of a page for streams of one channel, whose ids are the
 * event's own. When an event arrives, every stream of its channel gets the
 * same page from one shared read, so it is encoded once for all of them.
 */
const singleChannelFrames = new WeakMap<readonly StoredEvent[], string>();

export function framesOfPage(events: readonly StoredEvent[]): string {
  let text = singleChannelFrames.get(events);
  if (text === undefined) {
    text = '';
    for (const event of events) {
      text += encodeFrame({
        event: event.type,
        id: formatEventId(event.channel, event.seq),
        data: event.json,
      });
    }
    singleChannelFrames.set(events, text);
  }
  return text;
}

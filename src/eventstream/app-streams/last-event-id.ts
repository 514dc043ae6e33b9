import type { IncomingMessage } from 'node:http';
import { InvalidPositionError } from '../errors/eventstream.errors';
import { MAX_LAST_EVENT_ID_LENGTH } from '../sse/event-position';

const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * The client's position: the `Last-Event-ID` header (an `EventSource` sends
 * it when it reconnects), else the last non-empty `?lastEventId=`.
 * `undefined` when there is none.
 *
 * @throws InvalidPositionError (a 400) for an id that is too long, holds
 * control characters, or is `error` (the id of a `stream-error`: a client
 * that reconnects after one is refused, so it stops).
 */
export function readLastEventId(
  request: Pick<IncomingMessage, 'headers' | 'url'>,
): string | undefined {
  const header = request.headers['last-event-id'];
  let id = typeof header === 'string' && header !== '' ? header : undefined;
  if (id === undefined) {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    id = query
      .getAll('lastEventId')
      .filter((value) => value !== '')
      .at(-1);
  }
  if (id === undefined) return undefined;
  if (id.length > MAX_LAST_EVENT_ID_LENGTH) {
    throw new InvalidPositionError(
      id,
      `an event id is at most ${MAX_LAST_EVENT_ID_LENGTH} characters`,
    );
  }
  if (CONTROL_CHARACTER.test(id)) {
    throw new InvalidPositionError(id, 'an event id cannot contain control characters');
  }
  if (id === 'error') {
    throw new InvalidPositionError(id, 'it is the id of an error, not a position to resume from');
  }
  return id;
}

import { maxHeaderSize } from 'node:http';
import { InvalidChannelError, InvalidPositionError } from '../errors/eventstream.errors';
import { formatCompositeEventId } from '../events/event-id';
import { hasChannelCharacters } from '../events/event-rules';

/** Room left, within Node's header limit, for the headers besides the URL. */
const OTHER_HEADERS_ROOM = 4 * 1024;

/**
 * The longest URL (path and query) that must resume any stream: 12288 with
 * Node's defaults. Node answers 431, before any app code runs, when a request
 * line and its headers together pass `http.maxHeaderSize` (16 KiB unless
 * `--max-http-header-size` says otherwise); OTHER_HEADERS_ROOM of that is left
 * to cookies, the user agent, authorization and the like.
 */
export const MAX_RESUME_URL_LENGTH = maxHeaderSize - OTHER_HEADERS_ROOM;

/**
 * The longest Last-Event-ID accepted, in the header or in `?lastEventId=`.
 * No stream writes a longer one: the URL that resumes from an id holds it,
 * and a stream that could need a URL past MAX_RESUME_URL_LENGTH is refused
 * at connect ({@link assertResumable}).
 */
export const MAX_LAST_EVENT_ID_LENGTH = MAX_RESUME_URL_LENGTH;

const SEQ = /^\d{1,20}$/;
const MAX_SEQ = 2n ** 63n - 1n;

/**
 * Parses a Last-Event-ID (`chan:seq`, comma-joined for several channels,
 * channel names percent-encoded) into a seq for each of the stream's
 * channels that it names. Entries for other channels are ignored. A bare
 * number is accepted for a one-channel stream.
 *
 * Seqs beyond Postgres' bigint are malformed; seqs beyond what a number holds
 * exactly are clamped, which the store reports as "ahead of the head".
 *
 * @throws InvalidPositionError for a malformed id, or for `error` (the id of
 * a `stream-error`, which is no position).
 */
export function parseEventPosition(raw: string, channels: readonly string[]): Map<string, number> {
  const positions = new Map<string, number>();
  if (raw === '') return positions;
  if (raw.length > MAX_LAST_EVENT_ID_LENGTH) {
    throw new InvalidPositionError(
      raw,
      `an event id is at most ${MAX_LAST_EVENT_ID_LENGTH} characters`,
    );
  }
  if (raw === 'error') {
    throw new InvalidPositionError(raw, 'it is the id of an error, not a position to resume from');
  }
  if (/\p{Cc}/u.test(raw)) {
    throw new InvalidPositionError(raw, 'an event id cannot contain control characters');
  }
  if (SEQ.test(raw)) {
    if (channels.length !== 1) {
      throw new InvalidPositionError(raw, 'a bare number is a position only for one channel');
    }
    positions.set(channels[0], toSeq(raw, raw));
    return positions;
  }
  const wanted = new Set(channels);
  for (const entry of raw.split(',')) {
    const colon = entry.lastIndexOf(':');
    const seqText = entry.slice(colon + 1);
    if (colon <= 0 || !SEQ.test(seqText)) {
      throw new InvalidPositionError(raw, `"${entry}" is not of the form channel:seq`);
    }
    let channel: string;
    try {
      channel = decodeURIComponent(entry.slice(0, colon));
    } catch {
      throw new InvalidPositionError(raw, `"${entry}" has a malformed percent-encoding`);
    }
    // No id the library writes names such a channel: a client that mangled
    // its id (say, a space after a comma) would otherwise lose its position.
    if (!hasChannelCharacters(channel)) {
      throw new InvalidPositionError(raw, `"${entry}" does not name a channel`);
    }
    const seq = toSeq(raw, seqText);
    if (wanted.has(channel)) positions.set(channel, seq);
  }
  return positions;
}

function toSeq(raw: string, digits: string): number {
  const seq = BigInt(digits);
  if (seq > MAX_SEQ) throw new InvalidPositionError(raw, 'a seq is at most 2^63 - 1');
  return seq > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(seq);
}

/**
 * The URL that resumes a stream of `channels` from the longest id it can
 * write (every seq at Postgres' bigint maximum): the URL of the request that
 * opens it, with `lastEventId` set to that id, serialized as `URLSearchParams`
 * (and so this library's client) does. That encodes each `%` of the id again,
 * so a code point outside the BMP costs 12 characters in the id and 20 here.
 */
export function longestResumeUrl(url: string, channels: readonly string[]): string {
  const resume = new URL(url, 'http://localhost');
  const longestId = formatCompositeEventId(channels.map((channel) => [channel, MAX_SEQ]));
  resume.searchParams.set('lastEventId', longestId);
  return resume.pathname + resume.search;
}

/**
 * Refuses, before anything is streamed, a stream whose ids could grow too
 * long to come back: its client would be answered 431 on every reconnect.
 *
 * @throws InvalidChannelError when the URL that resumes a stream of
 * `channels` opened with `url` could pass MAX_RESUME_URL_LENGTH.
 */
export function assertResumable(url: string, channels: readonly string[]): void {
  const length = longestResumeUrl(url, channels).length;
  if (length <= MAX_RESUME_URL_LENGTH) return;
  throw new InvalidChannelError(
    [...channels],
    `the channel names are too long together: resuming this stream could take a URL of ` +
      `${length} characters, and a stream must resume within ${MAX_RESUME_URL_LENGTH} ` +
      `(Node answers 431 past ${maxHeaderSize} bytes of request line and headers); ` +
      'use fewer or shorter channels',
  );
}

import { InvalidPositionError } from '../errors/eventstream.errors';
import { hasChannelCharacters } from '../events/event-rules';

/**
 * The longest id the library can write for a stream of `maxChannels`
 * channels of `maxChannelLength` characters: a percent-encoded code point
 * takes up to 12 characters, and each entry adds `:`, 20 digits and `,`.
 */
export function maxEventIdLength(maxChannels: number, maxChannelLength: number): number {
  return maxChannels * (maxChannelLength * 12 + 22);
}

/** For the default limits: 10 channels of 128 characters. */
export const DEFAULT_MAX_EVENT_ID_LENGTH = maxEventIdLength(10, 128);

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
export function parseEventPosition(
  raw: string,
  channels: readonly string[],
  maxLength: number = DEFAULT_MAX_EVENT_ID_LENGTH,
): Map<string, number> {
  const positions = new Map<string, number>();
  if (raw === '') return positions;
  if (raw.length > maxLength) {
    throw new InvalidPositionError(raw, `an event id is at most ${maxLength} characters`);
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

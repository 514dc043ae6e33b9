import { messageOf } from '../errors/error-message';
import {
  InvalidChannelError,
  InvalidEventDataError,
  InvalidEventTypeError,
} from '../errors/eventstream.errors';
import { EventLimits, RESERVED_EVENT_TYPES } from './event-limits';

// Letters (with their combining marks) and digits of any script plus a few URL-friendly separators: enough
// for names like `user-42`, `room:lobby` or `doc/7`, and nothing that could be
// confused with whitespace or break a header, a query string or an SSE line.
const CHANNEL_PATTERN = /^[\p{L}\p{M}\p{N}_\-.:@/~]+$/u;
const CONTROL_CHARACTER = /\p{Cc}/u;

export const CHANNEL_RULE_TEXT = 'letters, digits and any of _ - . : @ / ~';

/** Whether `name` is made only of the characters a channel name may hold (length aside). */
export function hasChannelCharacters(name: string): boolean {
  return CHANNEL_PATTERN.test(name);
}

export function assertValidChannel(
  channel: unknown,
  limits: EventLimits,
): asserts channel is string {
  if (typeof channel !== 'string') {
    throw new InvalidChannelError(channel, 'a channel name must be a string');
  }
  if (channel.length === 0)
    throw new InvalidChannelError(channel, 'a channel name cannot be empty');
  if (longerThan(channel, limits.maxChannelLength)) {
    throw new InvalidChannelError(
      channel,
      `a channel name is at most ${limits.maxChannelLength} characters`,
    );
  }
  if (!CHANNEL_PATTERN.test(channel)) {
    throw new InvalidChannelError(channel, `a channel name may contain only ${CHANNEL_RULE_TEXT}`);
  }
}

/** The distinct channels of a stream, each valid, at most `maxChannels` of them. */
export function streamChannels(
  requested: readonly string[],
  maxChannels: number,
  limits: EventLimits,
): string[] {
  const channels = [...new Set(requested)];
  if (channels.length > maxChannels) {
    throw new InvalidChannelError(channels, `a stream reads at most ${maxChannels} channels`);
  }
  channels.forEach((channel) => assertValidChannel(channel, limits));
  return channels;
}

export function assertValidEventType(type: unknown, limits: EventLimits): asserts type is string {
  if (typeof type !== 'string') {
    throw new InvalidEventTypeError(type, 'an event type must be a string');
  }
  if (type.length === 0) throw new InvalidEventTypeError(type, 'an event type cannot be empty');
  if (longerThan(type, limits.maxEventTypeLength)) {
    throw new InvalidEventTypeError(
      type,
      `an event type is at most ${limits.maxEventTypeLength} characters`,
    );
  }
  // A CR or LF would end the SSE `event:` line and let the rest inject fields.
  if (CONTROL_CHARACTER.test(type)) {
    throw new InvalidEventTypeError(type, 'an event type cannot contain control characters');
  }
  if (RESERVED_EVENT_TYPES.includes(type)) {
    throw new InvalidEventTypeError(type, 'this event type is reserved for the stream protocol');
  }
}

/**
 * Encodes data once as the JSON text that is stored and sent to clients.
 * `forGrip`: each `%` counts twice toward the size limit, as the GRIP
 * replies that replay the event escape it, and a reply must stay under
 * Pushpin's limit.
 */
export function encodeEventData(data: unknown, limits: EventLimits, forGrip = false): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new InvalidEventDataError(`it cannot be encoded as JSON (${messageOf(error)})`, {
      cause: error,
    });
  }
  if (json === undefined) {
    throw new InvalidEventDataError(`${typeof data} cannot be encoded as JSON`);
  }
  const escapes = forGrip && json.includes('%') ? (json.match(/%/g) as string[]).length : 0;
  const bytes = Buffer.byteLength(json, 'utf8') + escapes;
  if (bytes > limits.maxDataBytes) {
    const counted = escapes > 0 ? ' (with each % counted twice, as GRIP replies escape it)' : '';
    throw new InvalidEventDataError(
      `its JSON encoding is ${bytes} bytes${counted}, more than the limit of ${limits.maxDataBytes}`,
    );
  }
  return json;
}

/** Whether `text` has more than `limit` code points, without scanning huge strings. */
function longerThan(text: string, limit: number): boolean {
  if (text.length <= limit) return false;
  if (text.length > 2 * limit) return true;
  return Array.from(text).length > limit;
}

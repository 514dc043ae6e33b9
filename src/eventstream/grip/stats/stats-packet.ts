import { decodeTnetString } from './tnetstring';

/**
 * What Pushpin's handler says about one channel on its stats socket, in a
 * `sub` packet (statspacket.cpp in Pushpin 1.36): how many of its sessions
 * of one hold mode (`stream`, `response`, `ws`) subscribe to the channel.
 * It sends one when a channel gains its first subscriber, about a second
 * after the count changes, and again every three quarters of its `ttl`;
 * the count holds until `ttl` seconds after the packet. When the last
 * stream leaves, it sends `unavailable` at once (response holds linger for
 * `subscription_linger` first).
 */
export type SubscriptionPacket = {
  /** The handler process: `pushpin-handler_<pid>`, new after each restart. */
  readonly from: string;
  readonly mode: string;
  readonly channel: string;
} & (
  { readonly subscribers: number; readonly ttlSeconds: number } | { readonly unavailable: true }
);

/** The topic `sub` packets are published under: a subscriber filters on it. */
export const SUBSCRIPTION_TOPIC = 'sub ';

/**
 * Reads one message of the stats socket: the topic, a space, then `T` and
 * a TNetString or `J` and JSON (`stats_format`). Throws, saying what is
 * wrong, on anything but a well-formed `sub` packet.
 */
export function parseSubscriptionPacket(message: Uint8Array): SubscriptionPacket {
  const topic = Buffer.from(message.subarray(0, SUBSCRIPTION_TOPIC.length)).toString('latin1');
  if (topic !== SUBSCRIPTION_TOPIC) throw new Error(`not a sub packet: "${topic}"`);
  const format = String.fromCharCode(message[SUBSCRIPTION_TOPIC.length] ?? 0);
  const body = message.subarray(SUBSCRIPTION_TOPIC.length + 1);
  let value: unknown;
  if (format === 'T') value = decodeTnetString(body);
  else if (format === 'J') value = JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
  else throw new Error(`unknown format "${format}" (Pushpin writes T or J)`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('the packet is not a dictionary');
  }
  const packet = value as Record<string, unknown>;
  const from = text(packet, 'from');
  const mode = text(packet, 'mode');
  const channel = text(packet, 'channel');
  if (packet.unavailable === true) return { from, mode, channel, unavailable: true };
  const subscribers = packet.subscribers;
  if (!isCount(subscribers)) {
    throw new Error(`subscribers must be a count, got ${JSON.stringify(subscribers)}`);
  }
  const ttlSeconds = packet.ttl;
  if (!isCount(ttlSeconds) || ttlSeconds === 0) {
    throw new Error(`ttl must be a number of seconds, got ${JSON.stringify(ttlSeconds)}`);
  }
  return { from, mode, channel, subscribers, ttlSeconds };
}

function text(packet: Record<string, unknown>, key: string): string {
  const value = packet[key];
  if (typeof value !== 'string' || value === '') throw new Error(`no ${key}`);
  return value;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

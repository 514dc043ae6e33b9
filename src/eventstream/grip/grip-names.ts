import { createHash } from 'node:crypto';

const SINGLE_PREFIX = 'stream-';
const COMPOSITE_PREFIX = 'events-';
const LINK_PREFIX = 'link-';

/**
 * Names as Pushpin sees them. Channel names become base64url after a
 * prefix, so nothing in them (`,` `;` `=` `%`, non-ASCII letters) can break
 * a `Grip-Channel` header or the `%(...)` syntax of Pushpin's id format.
 *
 * Each channel has two: streams of that one channel hold
 * {@link pushpinChannel}, whose items carry their SSE id as it is; streams
 * of several channels hold {@link pushpinCompositeChannel}, whose items
 * Pushpin's `build-id` filter gives each connection's composite id. Pushpin
 * refuses an item whose content filters differ from a subscription's, so
 * the two kinds cannot share a channel, and the filter costs Pushpin work
 * on every delivery (at 1,000 streams x 20 events/s, about a tenth more of
 * its handler's CPU and most of its latency above the bare floor,
 * bench/experiments/grip-variants.ts), which a single-channel stream does
 * not need.
 */
export function pushpinChannel(channel: string): string {
  return `${SINGLE_PREFIX}${base64url(channel)}`;
}

/**
 * The channel as streams of several channels hold it (`build-id` ids). Its
 * name is the one every stream held before single-channel streams had their
 * own, so during a rolling upgrade both versions' items still reach the
 * streams that can take them; a single-channel stream that misses an older
 * instance's item recovers it through its next link.
 */
export function pushpinCompositeChannel(channel: string): string {
  return `${COMPOSITE_PREFIX}${base64url(channel)}`;
}

/** Whether Pushpin's channel `name` is one of a library channel's two names. */
export function isPushpinStreamChannel(name: string): boolean {
  return name.startsWith(SINGLE_PREFIX) || name.startsWith(COMPOSITE_PREFIX);
}

/**
 * The library channel one of its two Pushpin names stands for; undefined
 * for another name. Presence reads it from the names Pushpin's stats report.
 */
export function libraryChannelOf(name: string): string | undefined {
  const prefix = [SINGLE_PREFIX, COMPOSITE_PREFIX].find((p) => name.startsWith(p));
  if (prefix === undefined) return undefined;
  const encoded = name.slice(prefix.length);
  const channel = Buffer.from(encoded, 'base64url').toString('utf8');
  // Base64url decoding skips what it cannot read: only a name this library made round-trips.
  return base64url(channel) === encoded ? channel : undefined;
}

/** Whether a stream of `channels` holds the composite names, with the `build-id` filter. */
export function holdsCompositeNames(channels: readonly string[]): boolean {
  return channels.length > 1;
}

/** The name a stream of `channels` holds `channel` by. */
export function pushpinChannelOf(channel: string, channels: readonly string[]): string {
  return holdsCompositeNames(channels) ? pushpinCompositeChannel(channel) : pushpinChannel(channel);
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** The per-user channel every held stream also subscribes to, for revocation. */
export function pushpinUserChannel(userId: string): string {
  return `user-${base64url(userId)}`;
}

/**
 * A channel no one publishes to, which every held stream of a known user also
 * holds with a fixed `prev-id`, so that Pushpin names it in the `Grip-Last`
 * header of the stream's next-link calls. Pushpin shares one next-link
 * request among sessions whose calls have the same path and `Grip-Last`
 * (the query, where the link token is, does not count) and applies the one
 * reply to them all: without this channel, one user's reply (their user
 * channel, their meta) went to other users' streams on the same channels
 * whenever their calls were in flight together, as when many clients
 * reconnect at once. With it, only one user's streams share a call.
 *
 * Its name also carries a digest of each of the stream's channels, so that
 * Pushpin's stats, which count subscribers per channel name and know no
 * user, tell which users hold streams on a channel (presence), at no cost
 * of a subscription: `link-<base64url user>.<digest>.<digest>…`.
 */
export function pushpinLinkChannel(userId: string, channels: readonly string[]): string {
  return [`${LINK_PREFIX}${base64url(userId)}`, ...channels.map(channelDigest)].join('.');
}

/** The user and channel digests of a {@link pushpinLinkChannel} name; undefined for another name. */
export function parsePushpinLinkChannel(
  name: string,
): { readonly userId: string; readonly digests: readonly string[] } | undefined {
  if (!name.startsWith(LINK_PREFIX)) return undefined;
  const [user, ...digests] = name.slice(LINK_PREFIX.length).split('.');
  // A name without digests was held by a version before presence.
  if (digests.length === 0 || !/^[A-Za-z0-9_-]*$/.test(user)) return undefined;
  return { userId: Buffer.from(user, 'base64url').toString('utf8'), digests };
}

/**
 * 66 bits of SHA-256 of the channel name, base64url: short enough that a
 * stream of many long channels keeps a short link channel name (Pushpin
 * repeats it in the `Grip-Last` header of every next-link call), long
 * enough that two channels of one user never collide in practice.
 */
export function channelDigest(channel: string): string {
  return createHash('sha256').update(channel, 'utf8').digest('base64url').slice(0, 11);
}

/** Escapes text for content and meta that Pushpin runs through its `%` formatter. */
export function escapePercent(text: string): string {
  return text.replace(/%/g, '%%');
}

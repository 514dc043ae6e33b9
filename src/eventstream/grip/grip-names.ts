/**
 * Names as Pushpin sees them. Channel names become base64url after a
 * prefix, so nothing in them (`,` `;` `=` `%`, non-ASCII letters) can break
 * a `Grip-Channel` header or the `%(...)` syntax of Pushpin's id format.
 */
export function pushpinChannel(channel: string): string {
  return `events-${Buffer.from(channel, 'utf8').toString('base64url')}`;
}

/** The per-user channel every held stream also subscribes to, for revocation. */
export function pushpinUserChannel(userId: string): string {
  return `user-${Buffer.from(userId, 'utf8').toString('base64url')}`;
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
 */
export function pushpinLinkChannel(userId: string): string {
  return `link-${Buffer.from(userId, 'utf8').toString('base64url')}`;
}

/** Escapes text for content and meta that Pushpin runs through its `%` formatter. */
export function escapePercent(text: string): string {
  return text.replace(/%/g, '%%');
}

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

/** Escapes text for content and meta that Pushpin runs through its `%` formatter. */
export function escapePercent(text: string): string {
  return text.replace(/%/g, '%%');
}

/** The Postgres NOTIFY channel of a schema's event store (at most 63 bytes, as identifiers are). */
export function notifyChannel(schema: string): string {
  return `es_${schema}`.slice(0, 63);
}

/** Payload of a head notification: `h <seq> <channel>` (channel names hold no spaces). */
export const HEAD_PREFIX = 'h ';
/** Payload of a permission change: `p ` and JSON `[userId, channel, origin]`, origin the announcing instance. */
export const PERMISSION_PREFIX = 'p ';
/** Payload of a commit marker: `c <marker>`, sent by an append given one. */
export const COMMIT_PREFIX = 'c ';

/**
 * The SSE id of a position in one channel: `channel:seq`, with the channel
 * percent-encoded so that `:` and `,` stay free to separate positions.
 */
export function formatEventId(channel: string, seq: number | bigint): string {
  return `${encodeURIComponent(channel)}:${seq}`;
}

/** The SSE id of a position in several channels: their ids joined by commas. */
export function formatCompositeEventId(
  positions: Iterable<readonly [string, number | bigint]>,
): string {
  return Array.from(positions, ([channel, seq]) => formatEventId(channel, seq)).join(',');
}

/**
 * The positions the server writes as event ids: `channel:seq`, or for several
 * channels every channel's `channel:seq` joined by commas, channel names
 * percent-encoded. Tabs that share a stream compare them to skip what they
 * have already seen.
 */
export type Position = ReadonlyMap<string, number>;

const SEQ = /^\d{1,16}$/;

/**
 * Reads an id into a seq per channel; `undefined` when it is no position the
 * server wrote (a custom route's own ids, `error`), which then is never
 * compared. A bare number is a position only for a stream of one channel.
 */
export function parsePosition(
  id: string | undefined,
  channels: readonly string[],
): Position | undefined {
  if (!id) return undefined;
  if (SEQ.test(id)) return channels.length === 1 ? new Map([[channels[0], Number(id)]]) : undefined;
  const position = new Map<string, number>();
  for (const entry of id.split(',')) {
    const colon = entry.lastIndexOf(':');
    const seq = entry.slice(colon + 1);
    if (colon <= 0 || !SEQ.test(seq)) return undefined;
    try {
      position.set(decodeURIComponent(entry.slice(0, colon)), Number(seq));
    } catch {
      return undefined;
    }
  }
  return position;
}

export function formatPosition(position: Position): string {
  return Array.from(position, ([channel, seq]) => `${encodeURIComponent(channel)}:${seq}`).join(
    ',',
  );
}

/** Whether everything up to `event` is already behind `seen`: each of its channels' seqs is. */
export function isSeen(event: Position, seen: Position): boolean {
  for (const [channel, seq] of event) {
    const mine = seen.get(channel);
    if (mine === undefined || seq > mine) return false;
  }
  return true;
}

/** The channels in which `position` is behind `other`. */
export function channelsBehind(position: Position, other: Position): string[] {
  return [...other].filter(([channel, seq]) => (position.get(channel) ?? -1) < seq).map(([c]) => c);
}

/** The later of two positions in each channel: what either has seen. */
export function latest(a: Position, b: Position): Position {
  const merged = new Map(a);
  for (const [channel, seq] of b) merged.set(channel, Math.max(seq, merged.get(channel) ?? seq));
  return merged;
}

/**
 * The earlier of two positions in each channel both name: where a stream
 * must start for both to miss nothing. A channel only one of them names
 * keeps that one's seq (the other would read it from now on).
 */
export function earliest(a: Position, b: Position): Position {
  const merged = new Map(a);
  for (const [channel, seq] of b) merged.set(channel, Math.min(seq, merged.get(channel) ?? seq));
  return merged;
}

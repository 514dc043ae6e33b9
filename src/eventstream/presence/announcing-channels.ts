/** Whether a channel announces joins and leaves. */
export type AnnouncingChannels = (channel: string) => boolean;

/** No channel announces: the default. */
export const NO_ANNOUNCING_CHANNELS: AnnouncingChannels = () => false;

/** The channels `presence.announce` names: exact names, and patterns for families of channels. */
export function announcingChannels(announce: readonly (string | RegExp)[]): AnnouncingChannels {
  if (announce.length === 0) return NO_ANNOUNCING_CHANNELS;
  const names = new Set(announce.filter((entry) => typeof entry === 'string'));
  const patterns = announce.filter((entry) => entry instanceof RegExp);
  return (channel) =>
    names.has(channel) ||
    patterns.some((pattern) => {
      // A global or sticky pattern would otherwise carry its position from one test to the next.
      pattern.lastIndex = 0;
      return pattern.test(channel);
    });
}

/** Who is on a channel: what `getPresence` and `GET /events/presence` answer. */
export interface ChannelPresence {
  readonly channel: string;
  /** Open streams on the channel, on every instance. */
  readonly streams: number;
  /** The distinct users of those streams whose user is known (`identifyUser`), sorted. */
  readonly users: readonly string[];
}

/** What an instance hears about changes made by any instance. */
export interface ChangeListener {
  /** Events of `channel` up to `headSeq` are committed. */
  onHead(channel: string, headSeq: number): void;
  /** The app asked to re-check `userId`'s access to `channel`. */
  onPermissionChanged(userId: string, channel: string): void;
  /** An append given this commit marker has committed. */
  onCommitted?(marker: string): void;
  /** Notifications may have been missed (the feed reconnected): re-read every head. */
  onResync(): void;
}

/**
 * Fans changes out to every app instance. Notifications only say "look":
 * readers always read by seq from the store, so a lost, merged or reordered
 * notification delays delivery at worst, and never loses or reorders events.
 */
export interface ChangeFeed {
  subscribe(listener: ChangeListener): () => void;
  /**
   * Resolves once notifications made from now on will reach subscribers (or
   * the feed is reconnecting, after which subscribers get `onResync`).
   */
  ready(): Promise<void>;
  /**
   * Tells the other instances to re-check `userId`'s access to `channel`.
   * This instance's listeners do not hear it: the caller checks its own
   * streams, and would otherwise ask the authorizer twice.
   */
  announcePermissionChange(userId: string, channel: string): Promise<void>;
  /**
   * Events this instance appended on its own (not in an app's transaction)
   * are committed up to these seqs: its own subscribers hear it at once,
   * other instances' soon after. Never throws; a failed announcement is
   * retried, and each instance re-reads its heads now and then in case an
   * announcement was lost with a dying process.
   */
  announceHeads(heads: ReadonlyMap<string, number>): void;
}

/** Injection token of the {@link ChangeFeed} in use. */
export const CHANGE_FEED = Symbol('CHANGE_FEED');

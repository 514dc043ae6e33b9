/**
 * Where a page read was answered, and why there: a replica that had caught
 * up, or the primary because there is no replica, the caller knew no head to
 * check one against, or the replica lagged, was skipped after a failure, or
 * failed just now.
 */
export type ReadSource =
  | { readonly source: 'replica'; readonly reason: 'caught-up' }
  | {
      readonly source: 'primary';
      readonly reason: 'no-replicas' | 'no-head' | 'lagging' | 'replica-down' | 'replica-failed';
    };

export type ReadObserver = (read: ReadSource) => void;

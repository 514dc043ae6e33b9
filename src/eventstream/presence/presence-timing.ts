/**
 * How long presence takes to notice things, declared once (docs/presence.md
 * states the bounds they give).
 */

/**
 * Changes are written this long after the first of them, together: under
 * churn an instance writes at most about 20 times a second, whatever the
 * number of streams opening and closing.
 */
export const PRESENCE_WRITE_DELAY_MS = 50;

/** Each instance renews its lease this often, and reaps expired ones. */
export const PRESENCE_HEARTBEAT_MS = 5_000;

/**
 * An instance that has not renewed its lease for this long no longer counts:
 * three heartbeats, so one slow or failed renewal does not drop it.
 */
export const PRESENCE_TTL_MS = 15_000;

/**
 * A user whose last stream on an announcing channel closed is still present
 * for this long: a reconnect within it (to any instance) is neither a leave
 * nor a join. Browsers' EventSource retries after about 3 s.
 */
export const PRESENCE_LEAVE_DELAY_MS = 5_000;

/** The type of the join and leave events. */
export const PRESENCE_EVENT_TYPE = 'presence';

/**
 * An app's events: each event type with the type of its data, e.g.
 * `{ message: { text: string }; typing: { userId: string } }`. The default,
 * `EventMap` itself, allows any type with any data.
 */
export type EventMap = { [type: string]: unknown };

declare const CHANNEL_PATTERNS: unique symbol;

/**
 * Events that depend on the channel: channel patterns (template literal
 * types) with the events of matching channels.
 *
 * @example
 * ```ts
 * type AppEvents = PerChannel<{
 *   [room: `room-${string}`]: { message: { text: string }; joined: { userId: string } };
 *   [user: `user-${string}`]: { notice: { title: string } };
 * }>;
 * ```
 */
export interface PerChannel<Patterns extends { [pattern: string]: object }> {
  readonly [CHANNEL_PATTERNS]: Patterns;
}

/**
 * What `EventStreamService` accepts as its events: an event map (an
 * interface or type with one property per event type) or a `PerChannel`.
 */
export type EventDeclaration = object;

/**
 * A declaration as given, or any event for a bare `object` (what TypeScript
 * infers for `app.get(EventStreamService)`).
 */
type Declared<Events extends EventDeclaration> = object extends Events ? EventMap : Events;

/** The events of channel `Channel` under a declaration: a plain event map. */
export type ChannelEvents<Events extends EventDeclaration, Channel extends string> =
  Declared<Events> extends PerChannel<infer Patterns>
    ? { [P in keyof Patterns]: Channel extends P ? Patterns[P] : never }[keyof Patterns]
    : Declared<Events>;

/** Event types of a channel under a declaration. */
export type EventTypeOf<
  Events extends EventDeclaration,
  Channel extends string,
> = keyof ChannelEvents<Events, Channel> & string;

/** One event to send with `sendEvents`, checked against the declaration. */
export type EventInput<Events extends EventDeclaration = EventMap> =
  Declared<Events> extends PerChannel<infer Patterns>
    ? {
        [P in keyof Patterns & string]: {
          [T in keyof Patterns[P] & string]: {
            readonly channel: P;
            readonly type: T;
            readonly data: Patterns[P][T];
          };
        }[keyof Patterns[P] & string];
      }[keyof Patterns & string]
    : {
        [T in keyof Declared<Events> & string]: {
          readonly channel: string;
          readonly type: T;
          /** Any JSON-serialisable value. */
          readonly data: Declared<Events>[T];
        };
      }[keyof Declared<Events> & string];

/** Options of {@link EventStreamRoute}. */
export interface EventStreamRouteOptions<Request = unknown> {
  /**
   * Store every event in this channel before it is sent (through
   * `EventStreamService.sendEvents`), and send it with its stored id,
   * `channel:seq`. A client that reconnects first gets the stored events after
   * its `Last-Event-ID` (checked by the module's authorizer), then the
   * method's new events. Without it, events are sent as they are and kept
   * nowhere.
   *
   * @example `{ persist: { channel: (req: Request) => `job-${req.params.id}` } }`
   */
  readonly persist?: { readonly channel: (request: Request) => string };
}

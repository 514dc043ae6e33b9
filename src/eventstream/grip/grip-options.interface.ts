/** Options of GRIP mode: Pushpin (or another GRIP proxy) holds the streams. */
export interface GripOptions {
  /**
   * The proxy's publish API with its keys, in the standard form:
   * `http://127.0.0.1:5561/?iss=pushpin&key=<sig key>` for Pushpin, whose
   * `key` both signs publishes and verifies its `Grip-Sig` (at least 32
   * bytes). A proxy that signs with a key pair (Fastly Fanout) adds
   * `verify-key=<public key, PEM or JWK>` and `verify-iss=<issuer>`.
   * Several proxies: an array; every event is published to each.
   */
  url: string | readonly string[];
  /**
   * What to do with a request that is not signed by the proxy: stream it
   * directly (`'direct'`, the default) or refuse it with 403 (`'refuse'`).
   */
  unsignedRequests?: 'direct' | 'refuse';
  /**
   * Where the proxy reaches the events route, for next links, when its
   * routes rewrite paths. Default: the path of the request.
   */
  publicPath?: string;
  /**
   * Secret that signs next-link tokens: at least 32 bytes, at least 8
   * different characters. Default: derived from the first proxy's `key`
   * when its URL has no `verify-key`; required when it has one, since a
   * verify key may be public.
   */
  linkSecret?: string;
  /** How long a publish to a proxy may take, in milliseconds: 1–600000. Default 5000. */
  publishTimeoutMs?: number;
  /**
   * Pushpin's `connection_subscription_max`: how many channels one held
   * connection may subscribe to (default 20). A held stream subscribes to
   * each of its channels plus two of its user's, so `maxChannelsPerStream`
   * may be at most this minus 2. Raise both together.
   */
  connectionSubscriptionMax?: number;
}

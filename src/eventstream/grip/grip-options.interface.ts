/** Options of GRIP mode: Pushpin (or another GRIP proxy) holds the streams. */
export interface GripOptions {
  /**
   * The proxy's publish API with its signature key, in the standard form:
   * `http://127.0.0.1:5561/?iss=pushpin&key=<sig key>`. Several proxies: an
   * array; every event is published to each.
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
  /** Secret that signs next-link tokens. Default: the first proxy's key. */
  linkSecret?: string;
  /** How long a publish to a proxy may take, in milliseconds. Default 5000. */
  publishTimeoutMs?: number;
}

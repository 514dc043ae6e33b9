import { parseGripUri } from '@fanoutio/grip';
import type { GripOptions } from './grip-options.interface';

/** A proxy's publish endpoint and keys, as `parseGripUri` reads them from a GRIP URL. */
export interface GripProxy {
  readonly control_uri: string;
  readonly control_iss?: string;
  readonly key?: unknown;
  readonly verify_key?: unknown;
}

export interface GripSettings {
  readonly proxies: readonly GripProxy[];
  /** Keys that may have signed a proxied request; none means none is trusted. */
  readonly verifyKeys: readonly string[];
  readonly unsignedRequests: 'direct' | 'refuse';
  readonly publicPath: string | undefined;
  readonly linkSecret: Uint8Array;
  readonly publishTimeoutMs: number;
}

/**
 * Largest event data in GRIP mode (`limits.maxDataBytes`), escaped: Pushpin
 * refuses a GRIP reply over 100,000 bytes, and a reply that replays an event
 * carries it whole, with its id and type and the reply's headers.
 */
export const GRIP_MAX_DATA_BYTES = 64 * 1024;

export function resolveGripSettings(options: GripOptions): GripSettings {
  const urls = typeof options.url === 'string' ? [options.url] : [...options.url];
  if (urls.length === 0) throw new Error('grip.url needs at least one proxy');
  const proxies: GripProxy[] = urls.map((url) => parseGripUri(url));
  const verifyKeys = proxies.flatMap((proxy) => {
    const key: unknown = proxy.verify_key ?? proxy.key;
    return typeof key === 'string' && key.length > 0 ? [key] : [];
  });
  const secret = options.linkSecret ?? verifyKeys[0];
  if (!secret) {
    throw new Error('grip needs a key in its url (…&key=<sig key>) or a linkSecret');
  }
  return {
    proxies,
    verifyKeys,
    unsignedRequests: options.unsignedRequests ?? 'direct',
    publicPath: options.publicPath,
    linkSecret: new TextEncoder().encode(secret),
    publishTimeoutMs: options.publishTimeoutMs ?? 5_000,
  };
}

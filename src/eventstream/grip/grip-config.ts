import { parseGripUri } from '@fanoutio/grip';
import type { GripOptions } from './grip-options.interface';

/** A proxy's publish endpoint and keys, as `parseGripUri` reads them from a GRIP URL. */
export interface GripProxy {
  readonly publishUri: string;
  readonly config: { control_uri: string; key?: unknown; verify_key?: unknown };
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

export function resolveGripSettings(options: GripOptions): GripSettings {
  const urls = typeof options.url === 'string' ? [options.url] : [...options.url];
  if (urls.length === 0) throw new Error('grip.url needs at least one proxy');
  const proxies = urls.map((url) => {
    const config = parseGripUri(url);
    return { publishUri: config.control_uri, config };
  });
  const verifyKeys = proxies.flatMap(({ config }) => {
    const key: unknown = config.verify_key ?? config.key;
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

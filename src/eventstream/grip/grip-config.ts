import { messageOf } from '../errors/error-message';
import type { Filled } from '../options/option-rules';
import type { GripOptions, GripOptionsWithoutDefault } from './grip-options';
import {
  type KeyMaterial,
  type SignatureVerifier,
  deriveLinkSecret,
  readKeyMaterial,
  verifierOf,
} from './grip-keys';
import { type GripProxy, parseGripUrl } from './grip-url';
import { weakSecretReason } from './secret-strength';
import { statsAddresses } from './stats/stats-address';

/** The grip options, with the proxies, keys and link secret read from them. */
export type GripSettings = Omit<
  Filled<GripOptions, GripOptionsWithoutDefault>,
  'url' | 'linkSecret' | 'stats'
> & {
  /** Pushpin stats sockets to count streams from; empty: none (`grip.stats`). */
  readonly stats: readonly string[];
  readonly proxies: readonly GripProxy[];
  /** What may have signed a proxied request; none means none is trusted. */
  readonly verifiers: readonly SignatureVerifier[];
  readonly linkSecret: Uint8Array;
};

/**
 * Reads the proxies' URLs and keys. Options are already validated for their
 * types; what is wrong with the keys is pushed onto `problems`, each with
 * the option's path.
 */
export function resolveGripSettings(
  options: Filled<GripOptions, GripOptionsWithoutDefault>,
  problems: string[],
): GripSettings | null {
  const urls = typeof options.url === 'string' ? [options.url] : [...options.url];
  const proxies: GripProxy[] = [];
  const verifiers: SignatureVerifier[] = [];
  let firstSecret: Uint8Array | undefined;
  let firstHasVerifyKey = false;

  urls.forEach((url, index) => {
    const path =
      urls.length === 1 && typeof options.url === 'string' ? 'grip.url' : `grip.url.${index}`;
    let proxy: GripProxy;
    try {
      proxy = parseGripUrl(url);
    } catch (error) {
      problems.push(`${path}: ${messageOf(error)}`);
      return;
    }
    proxies.push(proxy);
    const verifyKey = nonEmpty(proxy.verify_key);
    const key = verifyKey ?? nonEmpty(proxy.key);
    const issuer = nonEmpty(proxy.verify_iss);
    if (index === 0) firstHasVerifyKey = verifyKey !== undefined;
    if (key === undefined) {
      problems.push(
        `${path}: give the key that verifies the proxy's Grip-Sig (key=<Pushpin sig_key>, or verify-key=<public key>)`,
      );
      return;
    }
    const param = verifyKey === undefined ? 'key' : 'verify-key';
    let material: KeyMaterial;
    try {
      material = readKeyMaterial(key);
    } catch (error) {
      problems.push(`${path}: its ${param} cannot be read: ${messageOf(error)}`);
      return;
    }
    if (material.kind === 'secret') {
      const weak = weakSecretReason(material.bytes);
      if (weak) return problems.push(`${path}: its ${param} ${weak}`);
      if (index === 0) firstSecret = material.bytes;
    }
    try {
      verifiers.push(verifierOf(material, issuer));
    } catch (error) {
      problems.push(`${path}: its ${param} ${messageOf(error)}`);
    }
  });

  const linkSecret = resolveLinkSecret(options, firstHasVerifyKey, firstSecret, problems);
  if (!linkSecret || verifiers.length !== urls.length) return null;
  const { unsignedRequests, publicPath, publishTimeoutMs, connectionSubscriptionMax } = options;
  return {
    proxies,
    verifiers,
    linkSecret,
    unsignedRequests,
    publicPath,
    publishTimeoutMs,
    connectionSubscriptionMax,
    stats: statsAddresses(options.stats),
  };
}

/**
 * Next links are signed with `linkSecret`, or with a secret derived from the
 * first proxy's shared key. Never from a verify key: one may be public (a
 * Fastly Fanout URL carries Fastly's public key), and anyone could then sign
 * a link to any channel as any user.
 */
function resolveLinkSecret(
  options: Pick<GripOptions, 'linkSecret'>,
  firstHasVerifyKey: boolean,
  firstSecret: Uint8Array | undefined,
  problems: string[],
): Uint8Array | undefined {
  if (options.linkSecret !== undefined) {
    const secret = new TextEncoder().encode(options.linkSecret);
    const weak = weakSecretReason(secret);
    if (weak) problems.push(`grip.linkSecret ${weak}`);
    return weak ? undefined : secret;
  }
  if (firstHasVerifyKey) {
    problems.push(
      'grip.linkSecret is required when the first grip.url has a verify-key (which may be public): give a secret of at least 32 random bytes',
    );
    return undefined;
  }
  return firstSecret && deriveLinkSecret(firstSecret);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

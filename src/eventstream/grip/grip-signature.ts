import { validateSig } from '@fanoutio/grip';
import type { IncomingMessage } from 'node:http';

/**
 * Whether the request came through the proxy: only a `Grip-Sig` that one of
 * the configured keys verifies (and that has not expired) counts. Without a
 * key nothing is trusted: the library's own check would trust any header.
 */
export async function isProxied(
  request: IncomingMessage,
  verifyKeys: readonly string[],
): Promise<boolean> {
  const signature = request.headers['grip-sig'];
  if (typeof signature !== 'string' || signature === '' || verifyKeys.length === 0) return false;
  for (const key of verifyKeys) {
    if (await validateSig(signature, key)) return true;
  }
  return false;
}

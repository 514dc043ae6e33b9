import { jwtVerify } from 'jose';
import type { IncomingMessage } from 'node:http';
import type { SignatureVerifier } from './grip-keys';

/**
 * Whether the request came through the proxy: only a `Grip-Sig` that one of
 * the configured keys verifies, with the algorithm that key implies, that
 * has an expiry still ahead, and whose `iss` is the one that proxy's URL
 * names (`verify-iss`), counts. Without a key nothing is trusted.
 */
export async function isProxied(
  request: IncomingMessage,
  verifiers: readonly SignatureVerifier[],
): Promise<boolean> {
  const signature = request.headers['grip-sig'];
  if (typeof signature !== 'string' || signature === '') return false;
  for (const verifier of verifiers) {
    if (await verifies(signature, verifier)) return true;
  }
  return false;
}

async function verifies(token: string, verifier: SignatureVerifier): Promise<boolean> {
  try {
    await jwtVerify(token, verifier.key, {
      algorithms: [...verifier.algorithms],
      // A signature that never expires could be replayed forever.
      requiredClaims: ['exp'],
      ...(verifier.issuer === undefined ? {} : { issuer: verifier.issuer }),
    });
    return true;
  } catch {
    return false;
  }
}

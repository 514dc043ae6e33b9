/** The least a shared secret must have: 256 bits if it were random bytes. */
export const MIN_SECRET_BYTES = 32;
const MIN_DISTINCT = 8;

/**
 * Why a shared secret is too weak to sign or verify with, or undefined when
 * it is long and varied enough. Entropy cannot be measured from one sample;
 * this refuses what is certainly guessable (short, or one character over and
 * over), such as Pushpin's stock `changeme`.
 */
export function weakSecretReason(secret: Uint8Array): string | undefined {
  if (secret.length < MIN_SECRET_BYTES) {
    return `is ${secret.length} bytes long; use at least ${MIN_SECRET_BYTES} random bytes (e.g. \`openssl rand -hex 32\`)`;
  }
  if (new Set(secret).size < MIN_DISTINCT) {
    return `repeats too few characters (fewer than ${MIN_DISTINCT} different ones); use random bytes`;
  }
  return undefined;
}

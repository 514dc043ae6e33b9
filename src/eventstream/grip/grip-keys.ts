import {
  type JsonWebKey,
  type KeyObject,
  createPublicKey,
  createSecretKey,
  hkdfSync,
} from 'node:crypto';

/** A key that verifies `Grip-Sig`, with the only algorithms it may verify. */
export interface SignatureVerifier {
  readonly key: KeyObject;
  readonly algorithms: readonly string[];
  /** The `iss` a signature must carry (the URL's `verify-iss`), if any. */
  readonly issuer: string | undefined;
}

/** Key material as a GRIP URL gives it, before it is known to be usable. */
export type KeyMaterial =
  | { readonly kind: 'secret'; readonly bytes: Uint8Array }
  | { readonly kind: 'public'; readonly key: KeyObject };

const BASE64_PREFIX = 'base64:';

/**
 * Reads a key the way GRIP URLs write them: `base64:<bytes>`, a PEM or a JWK
 * (JSON) public key, or else the text itself as a shared secret.
 * @throws when a PEM or JWK cannot be read.
 */
export function readKeyMaterial(text: string): KeyMaterial {
  if (text.startsWith(BASE64_PREFIX)) {
    return { kind: 'secret', bytes: Buffer.from(text.slice(BASE64_PREFIX.length), 'base64') };
  }
  if (text.startsWith('-----BEGIN')) {
    // A private key given by mistake still only ever verifies: its public half is kept.
    return { kind: 'public', key: createPublicKey(text) };
  }
  if (text.trimStart().startsWith('{')) {
    const jwk = JSON.parse(text) as JsonWebKey;
    if (jwk.kty === 'oct' && typeof jwk.k === 'string') {
      return { kind: 'secret', bytes: Buffer.from(jwk.k, 'base64url') };
    }
    return { kind: 'public', key: createPublicKey({ key: jwk, format: 'jwk' }) };
  }
  return { kind: 'secret', bytes: new TextEncoder().encode(text) };
}

/**
 * The verifier of a key. Algorithms follow from the key, never from the
 * token's header, so a token cannot choose to be checked as HS256 with a
 * public key as its secret. Pushpin signs HS256; key pairs sign with the
 * algorithm of their curve or type.
 */
export function verifierOf(material: KeyMaterial, issuer: string | undefined): SignatureVerifier {
  if (material.kind === 'secret') {
    return { key: createSecretKey(material.bytes), algorithms: ['HS256'], issuer };
  }
  return { key: material.key, algorithms: publicKeyAlgorithms(material.key), issuer };
}

function publicKeyAlgorithms(key: KeyObject): string[] {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const byCurve: Record<string, string> = {
      prime256v1: 'ES256',
      secp384r1: 'ES384',
      secp521r1: 'ES512',
    };
    const algorithm = curve === undefined ? undefined : byCurve[curve];
    if (algorithm) return [algorithm];
  }
  if (type === 'rsa') return ['RS256'];
  if (type === 'ed25519') return ['EdDSA'];
  throw new Error(`a ${type ?? 'unknown'} key cannot verify GRIP signatures`);
}

/**
 * The next-link secret derived from a proxy's shared key, apart from the key
 * itself (HKDF), so a next-link token can never pass as a `Grip-Sig`, nor a
 * `Grip-Sig` as a next-link token.
 */
export function deriveLinkSecret(proxyKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', proxyKey, '', 'nestjs-eventstream next links', 32));
}

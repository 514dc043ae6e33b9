import { SignJWT, jwtVerify } from 'jose';

const ISSUER = 'nestjs-eventstream';
const LIFETIME_S = 60 * 60;

export interface NextLinkClaims {
  readonly channels: readonly string[];
  /** The user the stream was authorized for, as `identifyUser` names them. */
  readonly userId: string | undefined;
}

/**
 * The identity a next link carries. Pushpin calls next links without the
 * client's headers (no cookies, no tokens), so the link itself says who the
 * stream is for, signed by the app and short-lived.
 */
export async function signNextLink(claims: NextLinkClaims, secret: Uint8Array): Promise<string> {
  return new SignJWT({ ch: claims.channels, ...(claims.userId ? { u: claims.userId } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_S}s`)
    .sign(secret);
}

/** @returns the claims, or undefined for a token that is forged, tampered with or expired. */
export async function verifyNextLink(
  token: string,
  secret: Uint8Array,
): Promise<NextLinkClaims | undefined> {
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, algorithms: ['HS256'] });
    const channels = payload.ch;
    if (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string')) return undefined;
    return { channels, userId: typeof payload.u === 'string' ? payload.u : undefined };
  } catch {
    return undefined;
  }
}

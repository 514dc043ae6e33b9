import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { IncomingMessage } from 'node:http';
import { readKeyMaterial, verifierOf } from './grip-keys';
import { isProxied } from './grip-signature';

const KEY = 'proxy-key-0123456789-abcdefghijklmnopqrstuvwxyz';
const secret = (key: string) => verifierOf(readKeyMaterial(key), undefined);
const withSig = (sig: string) => ({ headers: { 'grip-sig': sig } }) as unknown as IncomingMessage;
const signed = (key = KEY, exp: string | number = '1h') =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('pushpin')
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(key));

/** Requests that pretend to come through the proxy. */
describe('isProxied', () => {
  it('trusts a signature made with a configured key, and only until it expires', async () => {
    expect(await isProxied(withSig(await signed()), [secret('other'), secret(KEY)])).toBe(true);
    expect(await isProxied(withSig(await signed(KEY, '-1s')), [secret(KEY)])).toBe(false);
  });

  it('refuses unsigned tokens (alg none), other keys and tampered claims', async () => {
    const unsecured = new UnsecuredJWT({ iss: 'pushpin' }).setExpirationTime('1h').encode();
    expect(await isProxied(withSig(unsecured), [secret(KEY)])).toBe(false);
    expect(await isProxied(withSig(await signed('guess')), [secret(KEY)])).toBe(false);
    // An expired signature with its expiry pushed forward: the signature no longer matches.
    const [header, , signature] = (await signed(KEY, '-1s')).split('.');
    const payload = Buffer.from(
      JSON.stringify({ iss: 'pushpin', exp: Math.floor(Date.now() / 1000) + 3600 }),
    ).toString('base64url');
    expect(await isProxied(withSig(`${header}.${payload}.${signature}`), [secret(KEY)])).toBe(
      false,
    );
  });

  it('refuses a signature without an expiry, which could be replayed forever', async () => {
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('pushpin')
      .sign(new TextEncoder().encode(KEY));
    expect(await isProxied(withSig(forever), [secret(KEY)])).toBe(false);
  });

  it('trusts nothing without a key, and ignores empty or repeated headers', async () => {
    expect(await isProxied(withSig(await signed()), [])).toBe(false);
    expect(await isProxied(withSig(''), [secret(KEY)])).toBe(false);
    const repeated = { headers: { 'grip-sig': [await signed(), await signed()] } };
    expect(await isProxied(repeated as unknown as IncomingMessage, [secret(KEY)])).toBe(false);
  });

  /** Fastly Fanout signs with ES256; a key pair made here stands in for Fastly's. */
  describe('with a public verify key and a verify-iss', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const ISS = 'fastly:service-a';
    const es256 = (iss: string, key: KeyObject = privateKey, exp = '1h') =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(iss)
        .setExpirationTime(exp)
        .sign(key);

    it.each([
      ['JWK', jwk],
      ['PEM', pem],
    ])('trusts an ES256 signature of the key pair (%s) with the right issuer', async (_, key) => {
      const verifier = verifierOf(readKeyMaterial(key), ISS);
      expect(await isProxied(withSig(await es256(ISS)), [verifier])).toBe(true);
    });

    it('refuses another issuer, another key pair and an expired signature', async () => {
      const verifier = verifierOf(readKeyMaterial(jwk), ISS);
      expect(await isProxied(withSig(await es256('fastly:another-service')), [verifier])).toBe(
        false,
      );
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      expect(await isProxied(withSig(await es256(ISS, other)), [verifier])).toBe(false);
      expect(await isProxied(withSig(await es256(ISS, privateKey, '-1s')), [verifier])).toBe(false);
    });

    it('refuses an HS256 token signed with the public key as its secret', async () => {
      // The classic algorithm confusion: the key is public, so anyone can make this token.
      const verifier = verifierOf(readKeyMaterial(pem), ISS);
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISS)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(pem));
      expect(await isProxied(withSig(forged), [verifier])).toBe(false);
    });
  });
});

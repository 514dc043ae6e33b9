import { SignJWT, UnsecuredJWT } from 'jose';
import type { IncomingMessage } from 'node:http';
import { isProxied } from './grip-signature';

const KEY = 'proxy-key';
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
    expect(await isProxied(withSig(await signed()), ['other', KEY])).toBe(true);
    expect(await isProxied(withSig(await signed(KEY, '-1s')), [KEY])).toBe(false);
  });

  it('refuses unsigned tokens (alg none), other keys and tampered claims', async () => {
    const unsecured = new UnsecuredJWT({ iss: 'pushpin' }).setExpirationTime('1h').encode();
    expect(await isProxied(withSig(unsecured), [KEY])).toBe(false);
    expect(await isProxied(withSig(await signed('guess')), [KEY])).toBe(false);
    // An expired signature with its expiry pushed forward: the signature no longer matches.
    const [header, , signature] = (await signed(KEY, '-1s')).split('.');
    const payload = Buffer.from(
      JSON.stringify({ iss: 'pushpin', exp: Math.floor(Date.now() / 1000) + 3600 }),
    ).toString('base64url');
    expect(await isProxied(withSig(`${header}.${payload}.${signature}`), [KEY])).toBe(false);
  });

  it('trusts nothing without a key, and ignores empty or repeated headers', async () => {
    expect(await isProxied(withSig(await signed()), [])).toBe(false);
    expect(await isProxied(withSig(''), [KEY])).toBe(false);
    const repeated = { headers: { 'grip-sig': [await signed(), await signed()] } };
    expect(await isProxied(repeated as unknown as IncomingMessage, [KEY])).toBe(false);
  });
});

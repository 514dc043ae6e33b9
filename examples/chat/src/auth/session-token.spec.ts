import { readSessionToken, SESSION_COOKIE } from './session-token.js';

describe('readSessionToken', () => {
  it('takes a bearer token first, then the session cookie', () => {
    const cookies = { [SESSION_COOKIE]: 'from-cookie' };
    expect(
      readSessionToken({ headers: { authorization: 'Bearer abc' }, cookies }),
    ).toBe('abc');
    expect(readSessionToken({ headers: {}, cookies })).toBe('from-cookie');
  });

  it('finds none in another scheme, an empty cookie or no credentials', () => {
    const cookies = { [SESSION_COOKIE]: 'from-cookie' };
    // A malformed Authorization is not silently replaced by the cookie.
    expect(
      readSessionToken({ headers: { authorization: 'Basic abc' }, cookies }),
    ).toBeUndefined();
    expect(
      readSessionToken({ headers: {}, cookies: { [SESSION_COOKIE]: '' } }),
    ).toBeUndefined();
    expect(readSessionToken({ headers: {} })).toBeUndefined();
  });
});

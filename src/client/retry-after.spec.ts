import { retryAfterMs } from './stream-connection';

describe('Retry-After', () => {
  const answer = (value?: string) => ({
    headers: new Headers(value === undefined ? {} : { 'Retry-After': value }),
  });
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('reads seconds and HTTP dates as milliseconds from now', () => {
    expect(retryAfterMs(answer('10'), now)).toBe(10_000);
    expect(retryAfterMs(answer(' 0 '), now)).toBe(0);
    expect(retryAfterMs(answer('Mon, 07 Dec 2026 12:00:30 GMT'), now)).toBe(30_000);
  });

  it('takes a date in the past as now, and caps long waits at ten minutes', () => {
    expect(retryAfterMs(answer('Mon, 07 Dec 2026 11:00:00 GMT'), now)).toBe(0);
    expect(retryAfterMs(answer('86400'), now)).toBe(600_000);
  });

  it('ignores a missing or unreadable value', () => {
    expect(retryAfterMs(answer(), now)).toBeUndefined();
    expect(retryAfterMs(answer('soon'), now)).toBeUndefined();
    expect(retryAfterMs(answer('-5'), now)).toBeUndefined();
  });
});

import { backoffDelay, DEFAULT_BACKOFF, resolveBackoff } from './backoff';

describe('backoff', () => {
  it('doubles from 1 s up to 30 s by default', () => {
    const noJitter = () => 0;
    const delays = [0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, DEFAULT_BACKOFF, noJitter));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('takes up to the jitter fraction off at random', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999999)).toBe(500);
    expect(backoffDelay(2, DEFAULT_BACKOFF, () => 0.5)).toBe(3000);
    const options = resolveBackoff({ initialMs: 100, jitter: 0 });
    expect(backoffDelay(1, options, Math.random)).toBe(200);
  });

  it('refuses settings that make no sense', () => {
    expect(() => resolveBackoff({ initialMs: -1 })).toThrow(RangeError);
    expect(() => resolveBackoff({ initialMs: 100, maxMs: 50 })).toThrow(RangeError);
    expect(() => resolveBackoff({ factor: 0.5 })).toThrow(RangeError);
    expect(() => resolveBackoff({ jitter: 2 })).toThrow(RangeError);
    expect(resolveBackoff({ maxMs: undefined })).toEqual(DEFAULT_BACKOFF);
  });
});

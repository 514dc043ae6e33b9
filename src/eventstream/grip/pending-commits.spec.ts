import { PendingCommits } from './pending-commits';

const events = (seq: number) => [{ channel: 'c', seq, type: 'm', json: '{}' }];

describe('PendingCommits', () => {
  afterEach(() => jest.useRealTimers());

  it('gives a committed transaction’s events once', () => {
    const pending = new PendingCommits();
    pending.add('a', events(1));
    expect(pending.take('a')).toEqual(events(1));
    expect(pending.take('a')).toBeUndefined();
    expect(pending.take('never-added')).toBeUndefined();
  });

  it('forgets transactions not heard of for ten minutes, such as rolled-back ones', () => {
    jest.useFakeTimers({ now: 0 });
    const pending = new PendingCommits();
    pending.add('rolled-back', events(1));
    jest.setSystemTime(5 * 60_000);
    pending.add('recent', events(2));
    jest.setSystemTime(10 * 60_000 + 1);
    pending.add('new', events(3));
    expect(pending.take('rolled-back')).toBeUndefined();
    expect(pending.take('recent')).toEqual(events(2));
    expect(pending.take('new')).toEqual(events(3));
  });

  it('keeps at most 10,000 open transactions, forgetting the oldest', () => {
    const pending = new PendingCommits();
    for (let i = 0; i <= 10_000; i++) pending.add(`t${i}`, events(i));
    expect(pending.size).toBe(10_000);
    expect(pending.take('t0')).toBeUndefined();
    expect(pending.take('t10000')).toEqual(events(10_000));
  });

  it('holds at most 16 MiB of event data, forgetting the oldest', () => {
    const pending = new PendingCommits();
    const big = (seq: number) => [{ channel: 'c', seq, type: 'm', json: 'x'.repeat(6 * 2 ** 20) }];
    pending.add('first', big(1));
    pending.add('second', big(2));
    pending.add('third', big(3));
    expect(pending.take('first')).toBeUndefined();
    expect(pending.take('second')).toEqual(big(2));
    expect(pending.take('third')).toEqual(big(3));
  });
});

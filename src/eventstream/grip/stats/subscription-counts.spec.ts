import type { SubscriptionPacket } from './stats-packet';
import { SubscriptionCounts } from './subscription-counts';

const count = (from: string, channel: string, subscribers: number, ttlSeconds = 10) =>
  ({ from, mode: 'stream', channel, subscribers, ttlSeconds }) as SubscriptionPacket;
const gone = (from: string, channel: string) =>
  ({ from, mode: 'stream', channel, unavailable: true }) as SubscriptionPacket;

describe('subscription counts', () => {
  it('sums the latest count of each Pushpin over the names asked for', () => {
    const counts = new SubscriptionCounts();
    counts.apply('tcp://a:1', count('h1', 'stream-x', 3), 0);
    counts.apply('tcp://a:1', count('h1', 'stream-x', 5), 1);
    counts.apply('tcp://a:1', count('h1', 'events-x', 2), 1);
    counts.apply('tcp://b:1', count('h2', 'stream-x', 4), 1);
    counts.apply('tcp://b:1', count('h2', 'stream-y', 9), 1);
    expect(counts.streams(['stream-x', 'events-x'], 2)).toBe(11);
    expect(counts.streams(['stream-x'], 2)).toBe(9);
    expect(counts.streams(['stream-z'], 2)).toBe(0);
  });

  it('drops a channel its Pushpin says is gone, and a count whose TTL lapsed', () => {
    const counts = new SubscriptionCounts();
    counts.apply('tcp://a:1', count('h1', 'stream-x', 3, 10), 0);
    counts.apply('tcp://b:1', count('h2', 'stream-x', 4, 60), 0);
    counts.apply('tcp://b:1', gone('h2', 'stream-x'), 5_000);
    expect(counts.streams(['stream-x'], 9_999)).toBe(3);
    expect(counts.streams(['stream-x'], 10_000)).toBe(0);
    expect(counts.size).toBe(1);
    counts.sweep(10_000);
    expect(counts.size).toBe(0);
  });

  it('forgets every count of an endpoint, and keeps a restarted handler apart from the old', () => {
    const counts = new SubscriptionCounts();
    counts.apply('tcp://a:1', count('h1', 'stream-x', 3), 0);
    counts.apply('tcp://a:1', count('h1-restarted', 'stream-x', 1), 0);
    counts.apply('tcp://b:1', count('h2', 'stream-x', 4), 0);
    expect(counts.streams(['stream-x'], 1)).toBe(8);
    counts.apply('tcp://a:1', gone('h1-restarted', 'stream-x'), 1);
    expect(counts.streams(['stream-x'], 1)).toBe(7);
    counts.forget('tcp://a:1');
    expect(counts.streams(['stream-x'], 1)).toBe(4);
  });
});

describe('subscription counts by tag', () => {
  const tagsOf = (channel: string) => channel.split('.').slice(1);

  it('finds the live channels under a tag, and forgets the index with the channel', () => {
    const counts = new SubscriptionCounts(tagsOf);
    counts.apply('tcp://a:1', count('h1', 'link-u1.x.y', 1, 10), 0);
    counts.apply('tcp://b:1', count('h2', 'link-u2.x', 2, 20), 0);
    expect(counts.live('x', 1).sort()).toEqual(['link-u1.x.y', 'link-u2.x']);
    expect(counts.live('y', 1)).toEqual(['link-u1.x.y']);
    expect(counts.live('x', 10_000)).toEqual(['link-u2.x']);
    counts.apply('tcp://b:1', gone('h2', 'link-u2.x'), 2);
    expect(counts.live('x', 3)).toEqual(['link-u1.x.y']);
    counts.forget('tcp://a:1');
    expect(counts.live('x', 3)).toEqual([]);
    expect(counts.live('y', 3)).toEqual([]);
  });
});

import type { CommittedEvent } from '../delivery/committed-event';
import { RecentEvents } from './recent-events';

const event = (channel: string, seq: number, json = `{"n":${seq}}`): CommittedEvent => ({
  channel,
  seq,
  type: 'tick',
  json,
});
const seqs = (events?: readonly CommittedEvent[]) => events?.map((e) => e.seq);

describe('RecentEvents', () => {
  it('serves the seqs after a cursor, the same array to every stream at that cursor', () => {
    const recent = new RecentEvents();
    recent.add([event('a', 5), event('a', 6), event('b', 1), event('a', 7)]);
    expect(seqs(recent.page('a', 4, 100, 1e6))).toEqual([5, 6, 7]);
    expect(seqs(recent.page('a', 6, 100, 1e6))).toEqual([7]);
    expect(recent.page('a', 6, 100, 1e6)).toBe(recent.page('a', 6, 100, 1e6));
    expect(seqs(recent.page('b', 0, 100, 1e6))).toEqual([1]);
  });

  it('answers nothing when any seq after the cursor might be missing, or none is newer', () => {
    const recent = new RecentEvents();
    recent.add([event('a', 5), event('a', 6)]);
    expect(recent.page('a', 3, 100, 1e6)).toBeUndefined();
    expect(recent.page('a', 6, 100, 1e6)).toBeUndefined();
    expect(recent.page('a', 9, 100, 1e6)).toBeUndefined();
    expect(recent.page('other', 0, 100, 1e6)).toBeUndefined();
  });

  it('keeps only consecutive seqs: a gap starts the channel again', () => {
    const recent = new RecentEvents();
    recent.add([event('a', 1), event('a', 2), event('a', 4)]);
    expect(recent.page('a', 1, 100, 1e6)).toBeUndefined();
    expect(seqs(recent.page('a', 3, 100, 1e6))).toEqual([4]);
    // Out of order (a later commit's callback came first): never a page with a hole.
    recent.add([event('a', 3)]);
    expect(seqs(recent.page('a', 2, 100, 1e6))).toEqual([3]);
    expect(recent.page('a', 3, 100, 1e6)).toBeUndefined();
  });

  it('stops a page at the limit and past the byte cap, with at least one event', () => {
    const recent = new RecentEvents();
    recent.add([1, 2, 3, 4].map((seq) => event('a', seq, 'x'.repeat(10))));
    expect(seqs(recent.page('a', 0, 2, 1e6))).toEqual([1, 2]);
    expect(seqs(recent.page('a', 1, 100, 15))).toEqual([2, 3]);
    expect(seqs(recent.page('a', 2, 100, 1))).toEqual([3]);
  });

  it('keeps a bounded tail of each channel', () => {
    const recent = new RecentEvents();
    recent.add(Array.from({ length: 200 }, (_, i) => event('a', i + 1)));
    expect(recent.page('a', 100, 1000, 1e9)).toBeUndefined();
    expect(seqs(recent.page('a', 190, 1000, 1e9))).toEqual([
      191, 192, 193, 194, 195, 196, 197, 198, 199, 200,
    ]);
  });
});

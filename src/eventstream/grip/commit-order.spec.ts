import { CommitOrder } from './commit-order';
import type { CommittedEvent } from '../delivery/committed-event';

const event = (channel: string, seq: number): CommittedEvent => ({
  channel,
  seq,
  type: 'm',
  json: '{}',
});

describe('CommitOrder', () => {
  let released: string[];
  let order: CommitOrder;
  beforeEach(() => {
    released = [];
    order = new CommitOrder((events) =>
      released.push(...events.map(({ channel, seq }) => `${channel}:${seq}`)),
    );
  });

  it('releases an event at once when nothing else is in flight on its channel', () => {
    order.begin(['a']).committed([event('a', 1)]);
    expect(released).toEqual(['a:1']);
  });

  it('holds an event that an earlier append may precede, then releases both in seq order', () => {
    const first = order.begin(['a']);
    const second = order.begin(['a']);
    second.committed([event('a', 2)]);
    expect(released).toEqual([]);
    first.committed([event('a', 1)]);
    expect(released).toEqual(['a:1', 'a:2']);
  });

  it('does not hold an event right after the highest seq known, since nothing can precede it', () => {
    const first = order.begin(['a']);
    const second = order.begin(['a']);
    first.committed([event('a', 1)]);
    const third = order.begin(['a']);
    second.committed([event('a', 2)]);
    expect(released).toEqual(['a:1', 'a:2']);
    third.committed([event('a', 3)]);
    expect(released).toEqual(['a:1', 'a:2', 'a:3']);
  });

  it('lets a failed append unblock the events waiting on it', () => {
    const failing = order.begin(['a']);
    order.begin(['a']).committed([event('a', 7)]);
    expect(released).toEqual([]);
    failing.failed();
    expect(released).toEqual(['a:7']);
  });

  it('does not wait for appends that started after the event returned', () => {
    const slow = order.begin(['a']);
    order.begin(['a']).committed([event('a', 2)]);
    const later = order.begin(['a']);
    slow.committed([event('a', 1)]);
    expect(released).toEqual(['a:1', 'a:2']);
    later.committed([event('a', 3)]);
    expect(released).toEqual(['a:1', 'a:2', 'a:3']);
  });

  it('never holds one channel for another', () => {
    const slow = order.begin(['a']);
    order.begin(['b']).committed([event('b', 1)]);
    expect(released).toEqual(['b:1']);
    slow.committed([event('a', 1)]);
    expect(released).toEqual(['b:1', 'a:1']);
  });

  it('holds each channel of a batch only for that channel', () => {
    const slowA = order.begin(['a']);
    order.begin(['a', 'b']).committed([event('a', 2), event('b', 1)]);
    expect(released).toEqual(['b:1']);
    slowA.committed([event('a', 1)]);
    expect(released).toEqual(['b:1', 'a:1', 'a:2']);
  });

  it('ignores a second report on one ticket', () => {
    const ticket = order.begin(['a']);
    ticket.committed([event('a', 1)]);
    ticket.committed([event('a', 2)]);
    ticket.failed();
    expect(released).toEqual(['a:1']);
  });

  it('releases every committed event once, in seq order per channel, under random interleavings', () => {
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      released = [];
      order = new CommitOrder((events) =>
        released.push(...events.map(({ channel, seq }) => `${channel}:${seq}`)),
      );
      const heads = new Map<string, number>();
      // An append commits (takes its seqs) somewhere between begin and return.
      const started: { channels: string[]; ticket: ReturnType<CommitOrder['begin']> }[] = [];
      const committed: { ticket: ReturnType<CommitOrder['begin']>; events: CommittedEvent[] }[] =
        [];
      const expected: string[] = [];
      for (let step = 0; step < 60; step++) {
        const action = random(3);
        if (action === 0 || started.length + committed.length === 0) {
          const channels = ['a', 'b', 'c'].filter(() => random(2) === 0);
          if (channels.length === 0) channels.push('a');
          started.push({ channels, ticket: order.begin(channels) });
        } else if (action === 1 && started.length > 0) {
          const [append] = started.splice(random(started.length), 1);
          if (random(5) === 0) {
            append.ticket.failed();
            continue;
          }
          const events = append.channels.map((channel) => {
            const seq = (heads.get(channel) ?? 0) + 1;
            heads.set(channel, seq);
            expected.push(`${channel}:${seq}`);
            return event(channel, seq);
          });
          committed.push({ ticket: append.ticket, events });
        } else if (committed.length > 0) {
          const [append] = committed.splice(random(committed.length), 1);
          append.ticket.committed(append.events);
        }
      }
      started.forEach(({ ticket }) => ticket.failed());
      committed.forEach(({ ticket, events }) => ticket.committed(events));
      expect([...released].sort()).toEqual([...expected].sort());
      for (const channel of ['a', 'b', 'c']) {
        const seqs = released
          .filter((id) => id.startsWith(`${channel}:`))
          .map((id) => Number(id.slice(2)));
        expect(seqs).toEqual(seqs.map((_, index) => index + 1));
      }
    }
  });
});

import {
  checkDeliveries,
  type Ack,
  type ClientRecord,
  type Delivery,
} from '../../scripts/cluster/checker';
import { seqOf } from '../../scripts/cluster/cluster-client';

const received = (channel: string, ...seqs: number[]): Delivery[] =>
  seqs.map((seq) => ({
    channel,
    seq,
    token: `p/${channel}-${seq}`,
    sentAt: 0,
    receivedAt: seq,
    path: 'pushpin-1',
  }));
const client = (channels: string[], deliveries: Delivery[]): ClientRecord => ({
  name: 'c1',
  channels,
  deliveries,
  resets: [],
  streamErrors: [],
});
const acks = (channel: string, ...seqs: number[]): Ack[] =>
  seqs.map((seq) => ({ channel, seq, token: `p/${channel}-${seq}` }));
const heads = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('the cluster checker', () => {
  test('passes every event once, in order, on each channel', () => {
    const result = checkDeliveries({
      clients: [
        client(['a', 'b'], [...received('a', 1, 2), ...received('b', 1), ...received('a', 3)]),
      ],
      acks: [...acks('a', 1, 3), ...acks('b', 1)],
      heads: heads({ a: 3, b: 1 }),
    });
    expect(result.violations).toEqual([]);
    expect(result.deliveries).toBe(4);
    expect(result.unacknowledgedStored).toBe(1);
  });

  test.each([
    ['a gap', received('a', 1, 3), 'gap, a:2'],
    ['a duplicate', received('a', 1, 2, 2, 3), 'duplicate'],
    ['an event out of order', received('a', 2, 1, 3), 'out of order'],
    ['the end missing', received('a', 1, 2), 'never got a:3'],
    ['nothing at all', [], 'never got a:1..3 (3 events)'],
  ])('catches %s', (_, deliveries, message) => {
    const result = checkDeliveries({
      clients: [client(['a'], deliveries)],
      acks: acks('a', 1, 2, 3),
      heads: heads({ a: 3 }),
    });
    expect(result.violations).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
  });

  test('catches an event whose data is not what the ack was for', () => {
    const [first, second] = received('a', 1, 2);
    const result = checkDeliveries({
      clients: [client(['a'], [first, { ...second, token: 'p/other' }])],
      acks: acks('a', 1, 2),
      heads: heads({ a: 2 }),
    });
    expect(result.violations).toEqual([expect.stringContaining('acknowledged for p/a-2')]);
  });

  test('catches a stream-reset, a stream-error, another channel and a seq given twice', () => {
    const record = { ...client(['a'], [...received('a', 1), ...received('b', 1)]) };
    record.resets.push('app-1: {"channels":["a"]}');
    record.streamErrors.push('app-1: {"condition":"x"}');
    const result = checkDeliveries({
      clients: [record],
      acks: [...acks('a', 1), { channel: 'a', seq: 1, token: 'p/again' }],
      heads: heads({ a: 1, b: 1 }),
    });
    expect(result.violations).toEqual([
      expect.stringContaining('acknowledged twice'),
      expect.stringContaining('stream-reset'),
      expect.stringContaining('stream-error'),
      expect.stringContaining('acknowledged for p/again'),
      expect.stringContaining('not its channel'),
    ]);
  });

  test('reads the seq of a channel from plain and composite ids', () => {
    expect(seqOf('room-1:7', 'room-1')).toBe(7);
    expect(seqOf('room-1:7,room%202:9', 'room 2')).toBe(9);
    expect(seqOf('room-1:7', 'room-2')).toBeNaN();
  });
});

import {
  channelsBehind,
  earliest,
  formatPosition,
  isSeen,
  latest,
  parsePosition,
} from './event-position';

const at = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('event positions, as tabs sharing a stream compare them', () => {
  it('reads the ids the server writes, percent-encoded names included, and formats them back', () => {
    expect(parsePosition('a:3', ['a'])).toEqual(at({ a: 3 }));
    expect(parsePosition('a:3,b%2Cc:7', ['a', 'b,c'])).toEqual(at({ a: 3, 'b,c': 7 }));
    expect(formatPosition(at({ a: 3, 'b,c': 7 }))).toBe('a:3,b%2Cc:7');
    expect(parsePosition('5', ['a'])).toEqual(at({ a: 5 }));
  });

  it('compares nothing it cannot read', () => {
    for (const id of [undefined, '', 'error', '5', 'a:x', ':3', 'a:3,,b:4', '%E0%A4%A:1']) {
      expect(parsePosition(id, ['a', 'b'])).toBeUndefined();
    }
  });

  it('counts an event seen when every channel of its id is at or behind the position', () => {
    expect(isSeen(at({ a: 3, b: 7 }), at({ a: 3, b: 7 }))).toBe(true);
    expect(isSeen(at({ a: 2, b: 7 }), at({ a: 3, b: 7 }))).toBe(true);
    expect(isSeen(at({ a: 4, b: 7 }), at({ a: 3, b: 7 }))).toBe(false);
    expect(isSeen(at({ a: 1, c: 1 }), at({ a: 3 }))).toBe(false);
  });

  it('merges positions channel by channel', () => {
    expect(latest(at({ a: 3, b: 9 }), at({ a: 5, b: 2, c: 1 }))).toEqual(at({ a: 5, b: 9, c: 1 }));
    expect(earliest(at({ a: 3, b: 9 }), at({ a: 5, b: 2, c: 1 }))).toEqual(
      at({ a: 3, b: 2, c: 1 }),
    );
    expect(channelsBehind(at({ a: 3 }), at({ a: 4, b: 1 }))).toEqual(['a', 'b']);
    expect(channelsBehind(at({ a: 4, b: 1 }), at({ a: 4, b: 1 }))).toEqual([]);
  });
});

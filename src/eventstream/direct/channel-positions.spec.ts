import { formatCompositeEventId } from '../events/event-id';
import { ChannelPositions } from './channel-positions';

describe('ChannelPositions', () => {
  it('holds a seq per channel, unset until set', () => {
    const positions = new ChannelPositions(['a', 'b']);
    expect(positions.get('a')).toBeUndefined();
    positions.set('b', 0);
    positions.set('a', 7);
    positions.set('a', 8);
    expect(positions.get('a')).toBe(8);
    expect(positions.get('b')).toBe(0);
    expect(positions.get('c')).toBeUndefined();
  });

  it("iterates the set channels in the stream's order, as an id is formatted", () => {
    const positions = new ChannelPositions(['x', 'y/z', 'w']);
    expect([...positions]).toEqual([]);
    positions.set('w', 3);
    positions.set('x', 2 ** 40);
    expect([...positions]).toEqual([
      ['x', 2 ** 40],
      ['w', 3],
    ]);
    positions.set('y/z', 1);
    expect(formatCompositeEventId(positions)).toBe(`x:${2 ** 40},y%2Fz:1,w:3`);
  });

  it('refuses a channel the stream does not read', () => {
    expect(() => new ChannelPositions(['a']).set('b', 1)).toThrow(RangeError);
  });
});

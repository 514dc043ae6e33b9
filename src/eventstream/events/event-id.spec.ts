import { formatCompositeEventId, formatEventId } from './event-id';

/** Splits a composite id the way a client or the resume logic would. */
function parseCompositeEventId(id: string): Array<[string, number]> {
  return id.split(',').map((position) => {
    const parts = position.split(':');
    expect(parts).toHaveLength(2);
    return [decodeURIComponent(parts[0]), Number(parts[1])];
  });
}

describe('formatEventId', () => {
  test('joins a plain channel and its seq with a colon', () => {
    expect(formatEventId('chat', 7)).toBe('chat:7');
    expect(formatEventId('chat', 0)).toBe('chat:0');
    expect(formatEventId('user-42', 123456789)).toBe('user-42:123456789');
  });

  test.each([
    ['room:lobby', 'room%3Alobby:1'],
    ['a,b', 'a%2Cb:1'],
    ['doc/7', 'doc%2F7:1'],
    ['a@b', 'a%40b:1'],
    ['50%', '50%25:1'],
    ['café', 'caf%C3%A9:1'],
    ['日本', '%E6%97%A5%E6%9C%AC:1'],
    ['\u{1D49C}', '%F0%9D%92%9C:1'],
  ])('percent-encodes %j', (channel, id) => {
    expect(formatEventId(channel, 1)).toBe(id);
  });

  test.each(['a_b', 'a-b', 'a.b', '~x'])(
    'leaves the unreserved characters of %j as they are',
    (channel) => {
      expect(formatEventId(channel, 1)).toBe(`${channel}:1`);
    },
  );

  test('leaves exactly one colon, so the channel part decodes back to the channel', () => {
    for (const channel of ['room:lobby', 'a:b:c', 'x,y', 'doc/7', 'a@b', 'café', '::']) {
      const id = formatEventId(channel, 5);
      const parts = id.split(':');
      expect(parts).toHaveLength(2);
      expect(decodeURIComponent(parts[0])).toBe(channel);
      expect(parts[1]).toBe('5');
    }
  });
});

describe('formatCompositeEventId', () => {
  test('joins the positions with commas, in order', () => {
    expect(
      formatCompositeEventId([
        ['a', 3],
        ['b', 7],
      ]),
    ).toBe('a:3,b:7');
  });

  test('gives the single id for one position', () => {
    expect(formatCompositeEventId([['room:lobby', 2]])).toBe(formatEventId('room:lobby', 2));
  });

  test('gives an empty string for no positions', () => {
    expect(formatCompositeEventId([])).toBe('');
  });

  test('accepts any iterable, such as a Map of channel to seq', () => {
    const heads = new Map([
      ['room:lobby', 4],
      ['doc/7', 0],
    ]);
    expect(formatCompositeEventId(heads)).toBe('room%3Alobby:4,doc%2F7:0');
  });

  test('round-trips channels containing the separators', () => {
    const positions: Array<[string, number]> = [
      ['room:lobby', 1],
      ['a,b', 2],
      ['doc/7', 3],
      ['a@b', 4],
      ['café', 5],
      [':,:', 6],
    ];
    const id = formatCompositeEventId(positions);
    expect(id.split(',')).toHaveLength(positions.length);
    expect(parseCompositeEventId(id)).toEqual(positions);
  });
});

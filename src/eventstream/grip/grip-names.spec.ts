import {
  channelDigest,
  libraryChannelOf,
  parsePushpinLinkChannel,
  pushpinChannel,
  pushpinCompositeChannel,
  pushpinLinkChannel,
} from './grip-names';

describe('link channel names', () => {
  it("carry the user and a digest of each of the stream's channels, whatever they hold", () => {
    const name = pushpinLinkChannel('ann.o"neil, ü', ['a.b', 'c;d=%', 'é']);
    expect(name).toMatch(/^link-[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]{11}){3}$/);
    expect(parsePushpinLinkChannel(name)).toEqual({
      userId: 'ann.o"neil, ü',
      digests: [channelDigest('a.b'), channelDigest('c;d=%'), channelDigest('é')],
    });
  });

  it('tell channels apart, and keep short for long channel names', () => {
    expect(channelDigest('a')).not.toBe(channelDigest('b'));
    expect(pushpinLinkChannel('u', ['x'.repeat(128), 'y'.repeat(128)]).length).toBeLessThan(40);
  });

  it('are not read from names of other kinds, or from before presence', () => {
    expect(parsePushpinLinkChannel('link-YW5u')).toBeUndefined();
    expect(parsePushpinLinkChannel('stream-YQ')).toBeUndefined();
    expect(parsePushpinLinkChannel('link-a b.cd')).toBeUndefined();
  });
});

describe('library channels read back from Pushpin names', () => {
  it('come back from both names, whatever they hold', () => {
    for (const channel of ['room', 'a,b;c=d%e', 'éte/ü', 'x'.repeat(200)]) {
      expect(libraryChannelOf(pushpinChannel(channel))).toBe(channel);
      expect(libraryChannelOf(pushpinCompositeChannel(channel))).toBe(channel);
    }
  });

  it('are not read from other names, or from names this library never made', () => {
    for (const name of ['user-YW5u', 'link-YW5u.abc', 'room', 'stream-not base64!', 'events-YQ=']) {
      expect(libraryChannelOf(name)).toBeUndefined();
    }
  });
});

import { parseSubscriptionPacket } from './stats-packet';
import { decodeTnetString } from './tnetstring';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe("Pushpin's stats packets", () => {
  // Written by Debian's Pushpin 1.36.0 (stats_format unset, then json).
  const TNET_SUB =
    'sub T90:4:mode,6:stream,4:from,20:pushpin-handler_3816,7:channel,1:a,11:subscribers,1:4#3:ttl,1:8#}';
  const TNET_GONE =
    'sub T83:4:mode,6:stream,4:from,20:pushpin-handler_3816,7:channel,1:b,11:unavailable,4:true!}';
  const JSON_SUB =
    'sub J{"channel":"a","from":"pushpin-handler_4881","mode":"stream","subscribers":2,"ttl":8}';

  it('reads a count in either format, and a channel gone', () => {
    expect(parseSubscriptionPacket(bytes(TNET_SUB))).toEqual({
      from: 'pushpin-handler_3816',
      mode: 'stream',
      channel: 'a',
      subscribers: 4,
      ttlSeconds: 8,
    });
    expect(parseSubscriptionPacket(bytes(JSON_SUB))).toMatchObject({ subscribers: 2 });
    expect(parseSubscriptionPacket(bytes(TNET_GONE))).toEqual({
      from: 'pushpin-handler_3816',
      mode: 'stream',
      channel: 'b',
      unavailable: true,
    });
  });

  it.each([
    ['conn T75:4:from,1:x,11:unavailable,4:true!2:id,1:c,}', /not a sub packet/],
    ['sub X{}', /unknown format "X"/],
    ['sub T90:4:mode,6:stream', /truncated|no length/],
    ['sub J{"mode":"stream","from":"f","channel":"a","ttl":8}', /subscribers must be a count/],
    ['sub J{"mode":"stream","from":"f","channel":"a","subscribers":-1,"ttl":8}', /subscribers/],
    ['sub J{"mode":"stream","from":"f","channel":"a","subscribers":1,"ttl":0}', /ttl must be/],
    ['sub J{"mode":"stream","from":"f","subscribers":1,"ttl":8}', /no channel/],
    ['sub J[1]', /not a dictionary/],
    ['sub J{', /JSON/],
  ])('refuses %s, saying why', (message, reason) => {
    expect(() => parseSubscriptionPacket(bytes(message))).toThrow(reason);
  });
});

describe('TNetStrings', () => {
  it('decodes every type, nested', () => {
    expect(decodeTnetString(bytes('45:1:a,1:1#1:b,3:1.5^1:c,0:~1:d,12:5:false!1:x,]}'))).toEqual({
      a: 1,
      b: 1.5,
      c: null,
      d: [false, 'x'],
    });
    expect(decodeTnetString(bytes('6:héllo,'))).toBe('héllo');
  });

  it.each([
    ['5:abc,', /truncated/],
    ['3:abc,x', /1 bytes after the value/],
    ['x:abc,', /no length|bad length/],
    ['3:abc?', /unknown type/],
    ['2:1x#', /bad integer/],
    ['3:yes!', /bad boolean/],
    ['1:x~', /null with a payload/],
    ['4:1:a,}', /no value for key/],
    ['8:1:1#1:a,}', /key that is not a string/],
    ['1234567890:a,', /no length/],
    [`${'2:'.repeat(0)}${nested(12)}`, /nested too deep/],
  ])('refuses %s', (text, reason) => {
    expect(() => decodeTnetString(bytes(text))).toThrow(reason);
  });
});

function nested(depth: number): string {
  let value = '0:]';
  for (let i = 0; i < depth; i++) value = `${Buffer.byteLength(value)}:${value}]`;
  return value;
}

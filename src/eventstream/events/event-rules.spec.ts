import {
  InvalidChannelError,
  InvalidEventDataError,
  InvalidEventTypeError,
} from '../errors/eventstream.errors';
import { DEFAULT_EVENT_LIMITS, EventLimits } from './event-limits';
import { assertValidChannel, assertValidEventType, encodeEventData } from './event-rules';
import { random, thrown } from '../../../test/harness/spec-helpers';

const LIMITS = DEFAULT_EVENT_LIMITS;
const CHANNEL_RULE = 'a channel name may contain only letters, digits and any of _ - . : @ / ~';

/** A letter outside the BMP: one code point, two UTF-16 units. */
const ASTRAL_LETTER = '\u{1D49C}'; // MATHEMATICAL SCRIPT CAPITAL A
const EMOJI = '\u{1F600}';

function limits(overrides: Partial<EventLimits>): EventLimits {
  return { ...DEFAULT_EVENT_LIMITS, ...overrides };
}

describe('assertValidChannel', () => {
  test.each([
    'a',
    'chat',
    'user-42',
    'room:lobby',
    'doc/7',
    'a@b',
    '~x',
    'under_score',
    'v1.2',
    'café',
    'Ünïcödé',
    '日本語',
    'Привет',
    'قناة٣',
    ASTRAL_LETTER,
  ])('accepts %j', (channel) => {
    expect(() => assertValidChannel(channel, LIMITS)).not.toThrow();
  });

  test.each([
    [42, 'Invalid channel (number): a channel name must be a string'],
    [null, 'Invalid channel (null): a channel name must be a string'],
    [undefined, 'Invalid channel (undefined): a channel name must be a string'],
    [['a'], 'Invalid channel list of 1: a channel name must be a string'],
  ])('rejects the non-string %p', (channel, message) => {
    const error = thrown(() => assertValidChannel(channel, LIMITS));
    expect(error).toBeInstanceOf(InvalidChannelError);
    expect(error.message).toBe(message);
    expect((error as InvalidChannelError).channel).toBe(channel);
    expect((error as InvalidChannelError).code).toBe('invalid-channel');
  });

  test('rejects the empty string', () => {
    const error = thrown(() => assertValidChannel('', LIMITS));
    expect(error).toBeInstanceOf(InvalidChannelError);
    expect(error.message).toBe('Invalid channel "": a channel name cannot be empty');
  });

  test.each([
    ['a space', ' '],
    ['an inner space', 'a b'],
    ['a leading space', ' a'],
    ['a trailing space', 'a '],
    ['a no-break space', 'a\u00a0b'],
    ['a line separator', 'a\u2028b'],
    ['a comma', 'a,b'],
    ['a percent sign', '50%'],
    ['a double quote', 'a"b'],
    ['a single quote', "a'b"],
    ['a line feed', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['a NUL', 'a\0b'],
    ['a tab', 'a\tb'],
    ['a question mark', 'a?b'],
    ['a hash', 'a#b'],
    ['an ampersand', 'a&b'],
    ['an emoji (not a letter)', `party${EMOJI}`],
    ['a lone surrogate', 'a\ud800'],
  ])('rejects a name with %s', (_, channel) => {
    const error = thrown(() => assertValidChannel(channel, LIMITS));
    expect(error).toBeInstanceOf(InvalidChannelError);
    expect(error.message).toBe(`Invalid channel ${JSON.stringify(channel)}: ${CHANNEL_RULE}`);
  });

  describe('length', () => {
    test('accepts exactly the default limit of 128 characters and rejects 129', () => {
      expect(() => assertValidChannel('a'.repeat(128), LIMITS)).not.toThrow();
      const error = thrown(() => assertValidChannel('a'.repeat(129), LIMITS));
      expect(error).toBeInstanceOf(InvalidChannelError);
      expect(error.message).toMatch(/: a channel name is at most 128 characters$/);
    });

    test('applies a custom limit', () => {
      const custom = limits({ maxChannelLength: 5 });
      expect(() => assertValidChannel('abcde', custom)).not.toThrow();
      const error = thrown(() => assertValidChannel('abcdef', custom));
      expect(error).toBeInstanceOf(InvalidChannelError);
      expect(error.message).toBe(
        'Invalid channel "abcdef": a channel name is at most 5 characters',
      );
    });

    test('counts code points, not UTF-16 units', () => {
      // 128 astral letters are 256 UTF-16 units but 128 characters.
      expect(() => assertValidChannel(ASTRAL_LETTER.repeat(128), LIMITS)).not.toThrow();
      expect(() => assertValidChannel(ASTRAL_LETTER.repeat(129), LIMITS)).toThrow(
        'a channel name is at most 128 characters',
      );
    });

    test('counts code points for names between the limit and twice the limit in UTF-16 units', () => {
      // 100 astral letters + 28 ASCII = 128 code points in 228 units.
      const atLimit = ASTRAL_LETTER.repeat(100) + 'a'.repeat(28);
      expect(() => assertValidChannel(atLimit, LIMITS)).not.toThrow();
      expect(() => assertValidChannel(`${atLimit}a`, LIMITS)).toThrow(
        'a channel name is at most 128 characters',
      );
    });

    test.each([
      ['valid characters', 'a'.repeat(1_000_000)],
      ['invalid characters', ' '.repeat(1_000_000)],
      ['astral letters', ASTRAL_LETTER.repeat(500_000)],
    ])('rejects a huge name of %s with the length message, shown truncated', (_, channel) => {
      const error = thrown(() => assertValidChannel(channel, LIMITS));
      expect(error).toBeInstanceOf(InvalidChannelError);
      expect(error.message).toMatch(/: a channel name is at most 128 characters$/);
      // The message quotes only the start of the name, not a megabyte of it.
      expect(error.message.length).toBeLessThan(200);
    });
  });

  test('accepts words of scripts that need combining marks', () => {
    const names = [
      'नमस्ते', // Hindi: U+094D VIRAMA and U+0947 are marks
      'สวัสดี', // Thai: U+0E31 and U+0E35 are marks
      'cafe\u0301', // "café" in NFD: e + U+0301 COMBINING ACUTE ACCENT
    ];
    const rejected = names.filter((name) => {
      try {
        assertValidChannel(name, LIMITS);
        return false;
      } catch {
        return true;
      }
    });
    expect(rejected).toEqual([]);
  });
});

describe('assertValidEventType', () => {
  test.each([
    'message',
    'user joined',
    'order.created',
    'order:created',
    'café',
    `${EMOJI} party`,
    'stream-opened',
  ])('accepts %j', (type) => {
    expect(() => assertValidEventType(type, LIMITS)).not.toThrow();
  });

  test.each([
    [42, 'Invalid event type (number): an event type must be a string'],
    [null, 'Invalid event type (null): an event type must be a string'],
    [undefined, 'Invalid event type (undefined): an event type must be a string'],
  ])('rejects the non-string %p', (type, message) => {
    const error = thrown(() => assertValidEventType(type, LIMITS));
    expect(error).toBeInstanceOf(InvalidEventTypeError);
    expect(error.message).toBe(message);
    expect((error as InvalidEventTypeError).code).toBe('invalid-event-type');
  });

  test('rejects the empty string', () => {
    const error = thrown(() => assertValidEventType('', LIMITS));
    expect(error).toBeInstanceOf(InvalidEventTypeError);
    expect(error.message).toBe('Invalid event type "": an event type cannot be empty');
  });

  test.each([
    ['a line feed', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['CRLF', 'a\r\nb'],
    ['an injected SSE field', 'message\ndata: forged'],
    ['a NUL', 'a\0b'],
    ['a tab', 'a\tb'],
    ['a DEL', 'a\u007fb'],
    ['a NEL (C1 control)', 'a\u0085b'],
  ])('rejects a type with %s', (_, type) => {
    const error = thrown(() => assertValidEventType(type, LIMITS));
    expect(error).toBeInstanceOf(InvalidEventTypeError);
    expect(error.message).toBe(
      `Invalid event type ${JSON.stringify(type)}: an event type cannot contain control characters`,
    );
  });

  test.each(['stream-open', 'stream-reset', 'stream-error', 'keep-alive'])(
    'rejects the reserved type %j',
    (type) => {
      const error = thrown(() => assertValidEventType(type, LIMITS));
      expect(error).toBeInstanceOf(InvalidEventTypeError);
      expect(error.message).toBe(
        `Invalid event type "${type}": this event type is reserved for the stream protocol`,
      );
    },
  );

  describe('length', () => {
    test('accepts exactly the default limit of 128 characters and rejects 129', () => {
      expect(() => assertValidEventType('t'.repeat(128), LIMITS)).not.toThrow();
      const error = thrown(() => assertValidEventType('t'.repeat(129), LIMITS));
      expect(error).toBeInstanceOf(InvalidEventTypeError);
      expect(error.message).toMatch(/: an event type is at most 128 characters$/);
    });

    test('counts an emoji as one character', () => {
      expect(() => assertValidEventType(EMOJI.repeat(128), LIMITS)).not.toThrow();
      expect(() => assertValidEventType(EMOJI.repeat(129), LIMITS)).toThrow(
        'an event type is at most 128 characters',
      );
    });

    test('applies a custom limit', () => {
      const custom = limits({ maxEventTypeLength: 3 });
      expect(() => assertValidEventType('abc', custom)).not.toThrow();
      const error = thrown(() => assertValidEventType('abcd', custom));
      expect(error).toBeInstanceOf(InvalidEventTypeError);
      expect(error.message).toBe(
        'Invalid event type "abcd": an event type is at most 3 characters',
      );
    });

    test('rejects a huge type with the length message, shown truncated', () => {
      const error = thrown(() => assertValidEventType('\n'.repeat(1_000_000), LIMITS));
      expect(error).toBeInstanceOf(InvalidEventTypeError);
      expect(error.message).toMatch(/: an event type is at most 128 characters$/);
      expect(error.message.length).toBeLessThan(400);
    });
  });
});

describe('encodeEventData', () => {
  test.each([
    [42, '42'],
    [-1.5, '-1.5'],
    [0, '0'],
    ['hi', '"hi"'],
    ['', '""'],
    [null, 'null'],
    [true, 'true'],
    [[1, 'a', null], '[1,"a",null]'],
    [{ a: 1, b: { c: [2] } }, '{"a":1,"b":{"c":[2]}}'],
    [{}, '{}'],
  ])('encodes %p as %s', (data, json) => {
    expect(encodeEventData(data, LIMITS)).toBe(json);
  });

  test('encodes a Date as its ISO string', () => {
    const date = new Date('2024-01-02T03:04:05.678Z');
    expect(encodeEventData(date, LIMITS)).toBe('"2024-01-02T03:04:05.678Z"');
    expect(encodeEventData({ at: date }, LIMITS)).toBe('{"at":"2024-01-02T03:04:05.678Z"}');
  });

  test('encodes NaN and infinities as null, as JSON does', () => {
    expect(encodeEventData(NaN, LIMITS)).toBe('null');
    expect(encodeEventData(Infinity, LIMITS)).toBe('null');
    expect(encodeEventData({ x: NaN, y: [-Infinity] }, LIMITS)).toBe('{"x":null,"y":[null]}');
  });

  test('drops undefined properties and nulls undefined array items, as JSON does', () => {
    expect(encodeEventData({ a: undefined, b: 1 }, LIMITS)).toBe('{"b":1}');
    expect(encodeEventData([undefined], LIMITS)).toBe('[null]');
  });

  test.each([
    ['undefined', undefined],
    ['function', () => 1],
    ['symbol', Symbol('s')],
  ])('rejects %s data', (kind, data) => {
    const error = thrown(() => encodeEventData(data, LIMITS));
    expect(error).toBeInstanceOf(InvalidEventDataError);
    expect(error.message).toBe(`Invalid event data: ${kind} cannot be encoded as JSON`);
    expect((error as InvalidEventDataError).code).toBe('invalid-event-data');
  });

  test.each([
    ['at the top', 1n],
    ['nested', { count: [1n] }],
  ])('rejects a BigInt %s with the JSON error as cause', (_, data) => {
    const error = thrown(() => encodeEventData(data, LIMITS));
    expect(error).toBeInstanceOf(InvalidEventDataError);
    expect(error.message).toMatch(/^Invalid event data: it cannot be encoded as JSON \(.*BigInt/);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  test('rejects cyclic data', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const error = thrown(() => encodeEventData(cyclic, LIMITS));
    expect(error).toBeInstanceOf(InvalidEventDataError);
    expect(error.message).toMatch(/^Invalid event data: it cannot be encoded as JSON \(.*circular/);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  describe('size limit', () => {
    test('accepts exactly the default 65536 bytes and rejects one byte more', () => {
      // A string of n ASCII characters encodes as n + 2 bytes (the quotes).
      expect(encodeEventData('x'.repeat(65_534), LIMITS)).toHaveLength(65_536);
      const error = thrown(() => encodeEventData('x'.repeat(65_535), LIMITS));
      expect(error).toBeInstanceOf(InvalidEventDataError);
      expect(error.message).toBe(
        'Invalid event data: its JSON encoding is 65537 bytes, more than the limit of 65536',
      );
    });

    test('applies a custom limit', () => {
      const custom = limits({ maxDataBytes: 10 });
      expect(encodeEventData({ a: 1234 }, custom)).toBe('{"a":1234}');
      expect(() => encodeEventData({ a: 12345 }, custom)).toThrow(
        'its JSON encoding is 11 bytes, more than the limit of 10',
      );
    });

    test('counts UTF-8 bytes, not characters', () => {
      const custom = limits({ maxDataBytes: 10 });
      // "éééé" in quotes: 6 characters, 2 + 4 × 2 = 10 bytes.
      expect(encodeEventData('éééé', custom)).toBe('"éééé"');
      // "ééééé" in quotes: only 7 characters, but 12 bytes.
      expect(() => encodeEventData('ééééé', custom)).toThrow(
        'its JSON encoding is 12 bytes, more than the limit of 10',
      );
      // An emoji is 4 bytes.
      expect(encodeEventData(EMOJI.repeat(2), custom)).toBe(`"${EMOJI.repeat(2)}"`);
      expect(() => encodeEventData(EMOJI.repeat(2) + 'x', custom)).toThrow(
        'its JSON encoding is 11 bytes, more than the limit of 10',
      );
    });

    test('measures the encoded JSON, escapes included', () => {
      const custom = limits({ maxDataBytes: 6 });
      // 'a\nb' is 3 characters, but encodes as "a\nb" with a two-byte escape: 6 bytes.
      expect(encodeEventData('a\nb', custom)).toBe('"a\\nb"');
      expect(() => encodeEventData('a\n\nb', custom)).toThrow('its JSON encoding is 8 bytes');
    });
  });

  describe('line breaks', () => {
    test('escapes CR and LF in strings and keys', () => {
      const json = encodeEventData({ 'key\r\n': 'line 1\nline 2\rline 3' }, LIMITS);
      expect(json).not.toMatch(/[\r\n]/);
      expect(JSON.parse(json)).toEqual({ 'key\r\n': 'line 1\nline 2\rline 3' });
    });

    test('never emits a raw CR or LF for random strings, and round-trips them', () => {
      const next = random(20240611);
      const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\r', '\r\n', '\u2028', '\u0085'];
      alphabet.push('\0', '\t', 'é', EMOJI, '\ud800', '\udfff', '\u{10FFFF}');
      const randomString = (): string => {
        const length = Math.floor(next() * 40);
        let text = '';
        for (let i = 0; i < length; i++) {
          text +=
            next() < 0.7
              ? alphabet[Math.floor(next() * alphabet.length)]
              : String.fromCharCode(Math.floor(next() * 0x10000));
        }
        return text;
      };
      for (let run = 0; run < 1000; run++) {
        const data = { [randomString()]: [randomString(), { nested: randomString() }] };
        const json = encodeEventData(data, LIMITS);
        expect(json).not.toMatch(/[\r\n]/);
        expect(JSON.parse(json)).toEqual(data);
      }
    });
  });
});

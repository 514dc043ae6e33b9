import { InvalidChannelError, InvalidPositionError } from '../errors/eventstream.errors';
import { formatCompositeEventId } from '../events/event-id';
import { DEFAULT_EVENT_LIMITS } from '../events/event-limits';
import { assertValidChannel } from '../events/event-rules';
import {
  MAX_LAST_EVENT_ID_LENGTH,
  MAX_RESUME_URL_LENGTH,
  assertResumable,
  longestResumeUrl,
  parseEventPosition,
} from './event-position';
import { random, thrown } from '../../../test/harness/spec-helpers';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const NOT_AN_ENTRY = 'is not of the form channel:seq';
const CONTROL = 'an event id cannot contain control characters';
const TOO_BIG = 'a seq is at most 2^63 - 1';

/** The InvalidPositionError that parsing `raw` throws; checks its class, code and position. */
function rejection(raw: string, channels: readonly string[]): InvalidPositionError {
  const error = thrown(() => parseEventPosition(raw, channels));
  expect(error).toBeInstanceOf(InvalidPositionError);
  const invalid = error as InvalidPositionError;
  expect(invalid.code).toBe('invalid-position');
  expect(invalid.name).toBe('InvalidPositionError');
  expect(invalid.position).toBe(raw);
  return invalid;
}

/** The message of an InvalidPositionError for a short `raw` (64 characters at most). */
function message(raw: string, reason: string): string {
  return `Invalid position ${JSON.stringify(raw)}: ${reason}`;
}

describe('parseEventPosition', () => {
  describe('valid ids', () => {
    test.each([[[]], [['a']], [['a', 'b']]])(
      'reads the empty string as no position (channels %j)',
      (channels) => {
        expect(parseEventPosition('', channels)).toEqual(new Map());
      },
    );

    test('reads channel:seq for a one-channel stream', () => {
      expect(parseEventPosition('a:3', ['a'])).toEqual(new Map([['a', 3]]));
    });

    test('reads a composite id, in any order', () => {
      const expected = new Map([
        ['a', 3],
        ['b', 7],
      ]);
      expect(parseEventPosition('a:3,b:7', ['a', 'b'])).toEqual(expected);
      expect(parseEventPosition('b:7,a:3', ['a', 'b'])).toEqual(expected);
    });

    test('reads seq 0', () => {
      expect(parseEventPosition('a:0', ['a'])).toEqual(new Map([['a', 0]]));
    });

    test('gives only the channels that the id names', () => {
      const positions = parseEventPosition('a:3', ['a', 'b']);
      expect(positions).toEqual(new Map([['a', 3]]));
      expect(positions.has('b')).toBe(false);
    });

    test.each([
      ['x:9', ['a'], []],
      ['a:3,x:9', ['a'], [['a', 3]]],
      ['x:9,a:3,y:1', ['a'], [['a', 3]]],
      ['x:9,y:1', ['a', 'b'], []],
      ['A:4', ['a'], []],
    ] as const)(
      'ignores the entries of channels not in the stream: %j',
      (raw, channels, entries) => {
        const positions = parseEventPosition(raw, channels);
        expect(positions).toEqual(new Map(entries));
        for (const channel of positions.keys()) expect(channels).toContain(channel);
      },
    );

    test.each([
      ['room%3Alobby:5', 'room:lobby', 5],
      ['caf%C3%A9:2', 'café', 2],
      ['%E6%97%A5%E6%9C%AC:4', '日本', 4],
      ['%F0%9D%92%9C:1', '\u{1D49C}', 1],
      ['doc%2F7:8', 'doc/7', 8],
      ['a%40b:9', 'a@b', 9],
      ['%61:6', 'a', 6],
    ])('decodes the percent-encoded name in %j', (raw, channel, seq) => {
      expect(parseEventPosition(raw, [channel, 'other'])).toEqual(new Map([[channel, seq]]));
    });

    test('matches names exactly after decoding', () => {
      expect(parseEventPosition('room%3Alobby:5', ['room%3Alobby'])).toEqual(new Map());
    });

    test.each([
      ['room:lobby:5', 'room:lobby', 5],
      ['a:b:c:1', 'a:b:c', 1],
      ['::3', ':', 3],
      ['room%3Alobby:2', 'room:lobby', 2],
    ])('splits %j at its last colon', (raw, channel, seq) => {
      expect(parseEventPosition(raw, [channel])).toEqual(new Map([[channel, seq]]));
    });

    test('accepts a name that was not percent-encoded', () => {
      expect(parseEventPosition('café:2,日本:3', ['café', '日本'])).toEqual(
        new Map([
          ['café', 2],
          ['日本', 3],
        ]),
      );
    });

    test('reads a channel named "error" like any other', () => {
      expect(parseEventPosition('error:3', ['error'])).toEqual(new Map([['error', 3]]));
    });

    test.each([
      ['a:3,a:5', 5],
      ['a:5,a:3', 3],
      ['a:5,b:1,a:3', 3],
      ['a:9,%61:4', 4],
    ])('lets the last of several entries for one channel win: %j', (raw, seq) => {
      expect(parseEventPosition(raw, ['a', 'b']).get('a')).toBe(seq);
    });
  });

  describe('a bare number', () => {
    test.each([
      ['5', 5],
      ['0', 0],
      ['007', 7],
      ['9007199254740991', MAX_SAFE],
      ['9223372036854775807', MAX_SAFE],
    ])('is the position %j of a one-channel stream', (raw, seq) => {
      expect(parseEventPosition(raw, ['a'])).toEqual(new Map([['a', seq]]));
    });

    test.each([[['a', 'b']], [[]]])('is refused for a stream of %j', (channels) => {
      const error = rejection('5', channels);
      expect(error.message).toBe(message('5', 'a bare number is a position only for one channel'));
    });

    test('beyond 2^63 - 1 is refused', () => {
      const error = rejection('9223372036854775808', ['a']);
      expect(error.message).toBe(message('9223372036854775808', TOO_BIG));
    });

    test('of 21 digits is refused', () => {
      const raw = '1'.repeat(21);
      expect(rejection(raw, ['a']).message).toBe(message(raw, `"${raw}" ${NOT_AN_ENTRY}`));
    });
  });

  describe('"error"', () => {
    test.each([[['a']], [['a', 'b']], [['error']]])(
      'is refused as a resume point (channels %j)',
      (channels) => {
        expect(rejection('error', channels).message).toBe(
          message('error', 'it is the id of an error, not a position to resume from'),
        );
      },
    );
  });

  describe('malformed ids', () => {
    test.each([
      ['a:', 'a:'],
      [':3', ':3'],
      [':', ':'],
      ['a:-1', 'a:-1'],
      ['a:1.5', 'a:1.5'],
      ['a:+3', 'a:+3'],
      ['a:0x10', 'a:0x10'],
      ['a:1e3', 'a:1e3'],
      ['a: 3', 'a: 3'],
      ['a:3 ', 'a:3 '],
      ['a:1_000', 'a:1_000'],
      ['a:٣', 'a:٣'], // ARABIC-INDIC DIGIT THREE is no ASCII digit
      ['a:３', 'a:３'], // FULLWIDTH DIGIT THREE
      ['abc', 'abc'],
      ['a', 'a'],
      ['a:3,', ''],
      [',a:3', ''],
      ['a:3,,b:4', ''],
      [',', ''],
      ['a:3,b', 'b'],
      ['5,6', '5'],
      ['a:3,x:', 'x:'],
    ])('refuses %j', (raw, entry) => {
      expect(rejection(raw, ['a', 'b']).message).toBe(message(raw, `"${entry}" ${NOT_AN_ENTRY}`));
    });

    test.each([
      ['a%E0%A4%A:1', 'a%E0%A4%A:1'],
      ['a%:1', 'a%:1'],
      ['a%zz:1', 'a%zz:1'],
      ['%C3:1', '%C3:1'], // a truncated UTF-8 sequence
      ['%ED%A0%80:1', '%ED%A0%80:1'], // an encoded lone surrogate
      ['a:1,x%E0:2', 'x%E0:2'], // even for a channel not in the stream
    ])('refuses the malformed percent-encoding in %j', (raw, entry) => {
      expect(rejection(raw, ['a', 'b']).message).toBe(
        message(raw, `"${entry}" has a malformed percent-encoding`),
      );
    });

    describe.each([
      ['LF', '\n'],
      ['CR', '\r'],
      ['NUL', '\0'],
      ['DEL', '\x7f'],
      ['TAB', '\t'],
      ['ESC', '\x1b'],
      ['NEL', '\x85'],
    ])('with a control character (%s)', (_, c) => {
      test.each([
        ['at the start', `${c}a:3`],
        ['in a name', `a${c}:3`],
        ['before a seq', `a:${c}3`],
        ['in a seq', `a:1${c}2`],
        ['at the end', `a:3${c}`],
        ['after a comma', `a:3,${c}b:4`],
        ['in an entry of another channel', `a:3,x${c}:4`],
        ['after a bare number', `5${c}`],
        ['after "error"', `error${c}`],
      ])('refuses it %s', (__, raw) => {
        expect(rejection(raw, ['a']).message).toBe(message(raw, CONTROL));
      });
    });

    test("is one maximum for every stream: 12288 characters with Node's default header limit", () => {
      expect(MAX_LAST_EVENT_ID_LENGTH).toBe(MAX_RESUME_URL_LENGTH);
      expect(MAX_LAST_EVENT_ID_LENGTH).toBe(12288);
    });

    test('accepts exactly the maximum length', () => {
      const raw = `a:1,${'z'.repeat(MAX_LAST_EVENT_ID_LENGTH - 6)}:1`;
      expect(raw).toHaveLength(MAX_LAST_EVENT_ID_LENGTH);
      expect(parseEventPosition(raw, ['a'])).toEqual(new Map([['a', 1]]));
    });

    test('refuses one character more, and shows only the start of the id', () => {
      const raw = `a:1,${'z'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1 - 6)}:1`;
      const error = rejection(raw, ['a']);
      expect(error.message).toBe(
        `Invalid position ${JSON.stringify(`${raw.slice(0, 64)}…`)}: ` +
          'an event id is at most 12288 characters',
      );
    });

    test('refuses a long id before looking at its content', () => {
      const raw = '\n'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1);
      expect(rejection(raw, ['a']).message).toMatch(/: an event id is at most 12288 characters$/);
    });
  });
  describe('seq bounds', () => {
    test.each([
      ['a:9007199254740991', MAX_SAFE], // kept exactly
      ['a:9007199254740990', MAX_SAFE - 1],
      ['a:9007199254740992', MAX_SAFE], // 2^53: clamped
      ['a:9007199254740993', MAX_SAFE], // not even a double: clamped
      ['a:9223372036854775807', MAX_SAFE], // 2^63 - 1: clamped
      ['a:007', 7],
      ['a:00000000000000000000', 0], // 20 digits
      ['a:00000000000000000001', 1],
      ['a:09223372036854775807', MAX_SAFE], // 20 digits, 2^63 - 1
    ])('reads %j as %p', (raw, seq) => {
      const value = parseEventPosition(raw, ['a']).get('a');
      expect(value).toBe(seq);
      expect(Number.isSafeInteger(value)).toBe(true);
    });

    test.each([
      'a:9223372036854775808', // 2^63
      'a:18446744073709551615', // 2^64 - 1
      'a:99999999999999999999', // 20 digits
      'a:1,x:9223372036854775808', // even for a channel not in the stream
    ])('refuses %j as beyond 2^63 - 1', (raw) => {
      expect(rejection(raw, ['a']).message).toBe(message(raw, TOO_BIG));
    });

    test('refuses a seq of 21 digits as malformed', () => {
      const raw = `a:${'1'.repeat(21)}`;
      expect(rejection(raw, ['a']).message).toBe(message(raw, `"${raw}" ${NOT_AN_ENTRY}`));
    });

    test('refuses 21 digits even when they are zeros', () => {
      const raw = `a:${'0'.repeat(21)}`;
      expect(rejection(raw, ['a']).message).toBe(message(raw, `"${raw}" ${NOT_AN_ENTRY}`));
    });
  });
});

describe('formatCompositeEventId then parseEventPosition (seeded random)', () => {
  /** Letters (non-ASCII too, with a combining mark), digits and every allowed separator. */
  const NAME_PIECES = [
    'a',
    'Z',
    'q',
    '0',
    '7',
    'é',
    'e\u0301',
    'ß',
    'Ж',
    '日本',
    'قناة',
    '\u{1D49C}',
    '٣',
    '_',
    '-',
    '.',
    ':',
    '@',
    '/',
    '~',
  ];

  function randomName(next: () => number): string {
    let name = '';
    const count = 1 + Math.floor(next() * 12);
    for (let i = 0; i < count; i++) name += NAME_PIECES[Math.floor(next() * NAME_PIECES.length)];
    return name;
  }

  function randomSeq(next: () => number): number {
    const kind = next();
    if (kind < 0.1) return 0;
    if (kind < 0.2) return MAX_SAFE;
    if (kind < 0.5) return Math.floor(next() * 1000);
    // 21 high bits and 32 low bits: any integer up to 2^53 - 1.
    return Math.floor(next() * 2 ** 21) * 2 ** 32 + Math.floor(next() * 2 ** 32);
  }

  function randomPositions(next: () => number): Map<string, number> {
    const positions = new Map<string, number>();
    const count = 1 + Math.floor(next() * 10);
    while (positions.size < count) positions.set(randomName(next), randomSeq(next));
    return positions;
  }

  test('gives back the positions of every channel', () => {
    const next = random(20240613);
    for (let i = 0; i < 500; i++) {
      const positions = randomPositions(next);
      const channels = [...positions.keys()];
      channels.forEach((channel) => assertValidChannel(channel, DEFAULT_EVENT_LIMITS));
      const id = formatCompositeEventId(positions);
      expect(parseEventPosition(id, channels)).toEqual(positions);
    }
  });

  test('gives back only the channels of the stream when the id names more', () => {
    const next = random(20240614);
    for (let i = 0; i < 500; i++) {
      const positions = randomPositions(next);
      const channels = [...positions.keys()].filter(() => next() < 0.5);
      const expected = new Map(channels.map((channel) => [channel, positions.get(channel)]));
      expect(parseEventPosition(formatCompositeEventId(positions), channels)).toEqual(expected);
    }
  });

  test('accepts back the composite id of the longest valid channels (default limits)', () => {
    // Ten channels of 128 CJK letters each: every letter percent-encodes to
    // 9 characters, so the id the library sends is over 11,000 characters.
    const positions = new Map(
      Array.from({ length: 10 }, (_, i) => [`${'日'.repeat(127)}${i}`, MAX_SAFE] as const),
    );
    const channels = [...positions.keys()];
    channels.forEach((channel) => assertValidChannel(channel, DEFAULT_EVENT_LIMITS));
    const id = formatCompositeEventId(positions);
    expect(parseEventPosition(id, channels)).toEqual(positions);
  });
});

describe('longestResumeUrl and assertResumable', () => {
  /** `count` channels of `length` copies of `letter`, each distinct. */
  const channelsOf = (count: number, letter: string, length: number) =>
    Array.from({ length: count }, (_, i) => `${i}${letter.repeat(length - 1)}`);
  const streamUrl = (channels: readonly string[]) => {
    const url = new URL('http://localhost/events');
    channels.forEach((channel) => url.searchParams.append('channel', channel));
    return url.pathname + url.search;
  };

  test('puts the id of every channel at 2^63 - 1 into the request URL, query-encoded', () => {
    expect(longestResumeUrl('/events?channel=a&channel=b&lastEventId=a:1', ['a', 'b'])).toBe(
      '/events?channel=a&channel=b&lastEventId=a%3A9223372036854775807%2Cb%3A9223372036854775807',
    );
  });

  test('counts 12 characters in the id and 20 in its query form for a code point past the BMP', () => {
    const base = longestResumeUrl('/s', ['a']).length;
    expect(longestResumeUrl('/s', ['a\u{1D400}']).length - base).toBe(20);
    expect(formatCompositeEventId([['a\u{1D400}', 1]]).length).toBe('a:1'.length + 12);
  });

  test('admits every stream of ten channels at the default length, in ASCII', () => {
    const channels = channelsOf(10, 'a', DEFAULT_EVENT_LIMITS.maxChannelLength);
    channels.forEach((channel) => assertValidChannel(channel, DEFAULT_EVENT_LIMITS));
    expect(() => assertResumable(streamUrl(channels), channels)).not.toThrow();
  });

  test('admits one channel at the default length in letters past the BMP', () => {
    const channels = channelsOf(1, '\u{1D400}', DEFAULT_EVENT_LIMITS.maxChannelLength);
    assertValidChannel(channels[0], DEFAULT_EVENT_LIMITS);
    expect(() => assertResumable(streamUrl(channels), channels)).not.toThrow();
  });

  test('refuses ten channels of 64 letters past the BMP, naming the cause', () => {
    const channels = channelsOf(10, '\u{1D400}', 64);
    const error = thrown(() => assertResumable(streamUrl(channels), channels));
    expect(error).toBeInstanceOf(InvalidChannelError);
    expect(error.message).toMatch(
      /^Invalid channel list of 10: the channel names are too long together: resuming this stream could take a URL of \d+ characters, and a stream must resume within 12288 /,
    );
  });

  test('admits exactly the streams whose longest id fits back, ids included', () => {
    for (let length = 1; length <= 64; length++) {
      const channels = channelsOf(10, '\u{1D400}', length);
      const url = streamUrl(channels);
      const resume = longestResumeUrl(url, channels);
      if (resume.length > MAX_RESUME_URL_LENGTH) {
        expect(() => assertResumable(url, channels)).toThrow(InvalidChannelError);
        continue;
      }
      expect(() => assertResumable(url, channels)).not.toThrow();
      const id = new URL(resume, 'http://x').searchParams.get('lastEventId') ?? '';
      expect(parseEventPosition(id, channels).size).toBe(10);
    }
  });
});

import fc from 'fast-check';
import { propertyRuns } from '../../../test/harness/property-runs';
import {
  InvalidChannelError,
  InvalidEventTypeError,
  InvalidPositionError,
} from '../errors/eventstream.errors';
import { formatCompositeEventId, formatEventId } from '../events/event-id';
import { DEFAULT_EVENT_LIMITS } from '../events/event-limits';
import { assertValidChannel, assertValidEventType } from '../events/event-rules';
import { pushpinChannel, pushpinCompositeChannel } from '../grip/grip-names';
import { parseEventPosition } from './event-position';
import { encodeFrame } from './sse-frames';

/**
 * Property tests (fast-check) of everything a client's input reaches before
 * the database: channel names, event types, SSE frames and Last-Event-IDs.
 * They complement the example tests beside each module with inputs no one
 * thought of, shrunk to the smallest failing case.
 */

const RUNS = propertyRuns(400);

/** Pieces that make ids, names and frames go wrong when combined. */
const TRICKY = [
  '',
  ':',
  ',',
  '%',
  '%2C',
  '%3A',
  '%25',
  '%2',
  '%zz',
  '%00',
  '%0A',
  '%0D',
  '%E2%80%A8',
  '\n',
  '\r',
  '\r\n',
  '\0',
  '\u2028',
  '\u0085',
  '\uFEFF',
  '\uD800',
  ' ',
  '\t',
  'error',
  'event: x',
  'id: 1',
  'data: y',
  '0',
  '1',
  '-1',
  '9223372036854775807',
  '9223372036854775808',
  '99999999999999999999',
  '1e3',
  '0x1',
  'a',
  'é',
  '😀',
  'لا',
  '/',
];
const tricky = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
/** Strings assembled from tricky pieces: percent-encoding tricks, separators, control characters. */
const nasty = fc.array(tricky, { maxLength: 12 }).map((parts) => parts.join(''));
const anyText = fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 64 }));

/** Valid channel names, of every script the rules allow. */
const channelChar = fc.oneof(
  fc.constantFrom(...'abcXYZ019_-.:@/~'.split('')),
  fc.constantFrom('é', 'ß', 'Ж', '中', 'ا', 'ّ', '٣', '𝔘'),
);
const validChannel = fc
  .array(channelChar, { minLength: 1, maxLength: 20 })
  .map((chars) => chars.join(''));
const seq = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });

/** The WHATWG event-stream interpretation, enough to read frames back. */
function readEvents(wire: string): { type: string; id: string; data: string }[] {
  const events: { type: string; id: string; data: string }[] = [];
  const lines = wire.split(/\r\n|\r|\n/);
  lines.pop();
  let [type, data, id] = ['', '', ''];
  let hasData = false;
  for (const line of lines) {
    if (line === '') {
      if (hasData) events.push({ type: type || 'message', id, data: data.slice(0, -1) });
      [type, data, hasData] = ['', '', false];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') [data, hasData] = [`${data}${value}\n`, true];
    else if (field === 'id' && !value.includes('\0')) id = value;
    else throw new Error(`unexpected field ${JSON.stringify(field)} in ${JSON.stringify(wire)}`);
  }
  return events;
}

describe('SSE framing (properties)', () => {
  it('reads back exactly one event with the given fields, or refuses a field with a line break', () => {
    fc.assert(
      fc.property(fc.option(anyText), fc.option(anyText), anyText, (event, id, data) => {
        const frame = { event: event ?? undefined, id: id ?? undefined, data };
        const breaks = [event, id].some((v) => v !== null && /[\r\n\0]/.test(v));
        if (breaks) {
          expect(() => encodeFrame(frame)).toThrow(/line break or NUL/);
          return;
        }
        const wire = encodeFrame(frame);
        expect(readEvents(wire)).toEqual([
          {
            // A type the client reads as "message" when empty: still one event.
            type: event || 'message',
            id: id ?? '',
            data: data.replace(/\r\n|\r/g, '\n'),
          },
        ]);
      }),
      RUNS,
    );
  });

  it('keeps every frame of a stream apart: data never ends an event or adds a field', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(validChannel, seq, anyText), { maxLength: 8 }), (items) => {
        const frames = items.map(([channel, n, data]) => ({
          event: 'msg',
          id: formatEventId(channel, Number(n)),
          data,
        }));
        const read = readEvents(frames.map(encodeFrame).join(''));
        expect(read.map((e) => e.id)).toEqual(frames.map((f) => f.id));
        expect(read.every((e) => e.type === 'msg')).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('channel names and event types (properties)', () => {
  it('accepts a channel, or refuses it with InvalidChannelError and nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, validChannel), (name) => {
        try {
          assertValidChannel(name, DEFAULT_EVENT_LIMITS);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidChannelError);
          return;
        }
        // What is accepted is safe everywhere a name goes: an SSE id line,
        // a composite id read back, and a Pushpin channel header.
        expect(name).not.toMatch(/[\s,%\p{Cc}]/u);
        expect(Array.from(name).length).toBeLessThanOrEqual(128);
        const id = formatEventId(name, 7);
        expect(() => encodeFrame({ id, data: '' })).not.toThrow();
        expect(parseEventPosition(id, [name])).toEqual(new Map([[name, 7]]));
        expect(pushpinChannel(name)).toMatch(/^stream-[A-Za-z0-9_-]+$/);
        expect(pushpinCompositeChannel(name)).toMatch(/^events-[A-Za-z0-9_-]+$/);
      }),
      RUNS,
    );
  });

  it('accepts an event type only if it fits on the event: line', () => {
    fc.assert(
      fc.property(anyText, (type) => {
        try {
          assertValidEventType(type, DEFAULT_EVENT_LIMITS);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidEventTypeError);
          return;
        }
        expect(readEvents(encodeFrame({ event: type, data: '1' }))[0].type).toBe(type);
      }),
      RUNS,
    );
  });

  it('refuses huge names quickly, whatever they hold', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 129, maxLength: 5000 }), (name) => {
        expect(() => assertValidChannel(name, DEFAULT_EVENT_LIMITS)).toThrow(InvalidChannelError);
      }),
      propertyRuns(50),
    );
  });
});

describe('Last-Event-ID parsing (properties)', () => {
  const streamChannels = fc.uniqueArray(validChannel, { minLength: 1, maxLength: 10 });

  it('gives safe positions for channels of the stream only, or an InvalidPositionError', () => {
    const raw = fc.oneof(
      anyText,
      // Almost well-formed ids: real entries with tricks spliced in.
      fc
        .array(
          fc.oneof(
            fc.tuple(validChannel, seq).map(([c, n]) => formatEventId(c, Number(n))),
            tricky,
          ),
          {
            maxLength: 6,
          },
        )
        .map((parts) => parts.join(',')),
    );
    fc.assert(
      fc.property(raw, streamChannels, (id, channels) => {
        let positions: Map<string, number>;
        try {
          positions = parseEventPosition(id, channels);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidPositionError);
          return;
        }
        for (const [channel, position] of positions) {
          expect(channels).toContain(channel);
          expect(Number.isSafeInteger(position) && position >= 0).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('reads back the composite id the library writes, clamping seqs past 2^53', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(validChannel, seq), {
          minLength: 1,
          maxLength: 10,
          selector: ([c]) => c,
        }),
        (entries) => {
          const id = entries.map(([c, n]) => `${encodeURIComponent(c)}:${n}`).join(',');
          const positions = parseEventPosition(
            id,
            entries.map(([c]) => c),
          );
          const safe = (n: bigint) =>
            Number(n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : n);
          expect(positions).toEqual(new Map(entries.map(([c, n]) => [c, safe(n)])));
          if (entries.every(([, n]) => n <= BigInt(Number.MAX_SAFE_INTEGER))) {
            expect(formatCompositeEventId(positions)).toBe(id);
          }
        },
      ),
      RUNS,
    );
  });

  it('refuses seqs past 2^63 - 1, negative and non-numeric seqs, whatever the channel', () => {
    const badSeq = fc.oneof(
      fc.bigInt({ min: 2n ** 63n, max: 10n ** 20n - 1n }).map(String),
      fc.bigInt({ min: 1n, max: 2n ** 70n }).map((n) => `-${n}`),
      fc.constantFrom('', '1.5', '1e3', '0x10', '+1', ' 1', '1 ', '٣', 'NaN', 'Infinity'),
    );
    fc.assert(
      fc.property(validChannel, badSeq, (channel, text) => {
        expect(() =>
          parseEventPosition(`${encodeURIComponent(channel)}:${text}`, [channel]),
        ).toThrow(InvalidPositionError);
      }),
      RUNS,
    );
  });
});

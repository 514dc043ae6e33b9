import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import EventSource from 'eventsource';
import {
  encodeFrame,
  KEEP_ALIVE,
  SseFrame,
  STREAM_OPEN,
  streamErrorFrame,
  streamResetFrame,
} from './sse-frames';
import { random, thrown } from '../../../test/harness/spec-helpers';

/** An event as an EventSource dispatches it. */
interface DispatchedEvent {
  readonly type: string;
  readonly lastEventId: string;
  readonly data: string;
}

interface ParsedStream {
  readonly events: DispatchedEvent[];
  /** Comment lines, without their leading colon. */
  readonly comments: string[];
  /** Every field line, by name, in order (`event`, `id`, `data`, or anything else). */
  readonly fields: string[];
}

/**
 * The WHATWG "interpret an event stream" algorithm, run on a whole stream
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 *
 * `eventsource-parser` is not installed in this repository, so this spec
 * carries its own parser; the `eventsource` client (a dev dependency) checks
 * it on the wire below. As in the spec: the bytes are decoded as UTF-8 (a
 * leading BOM dropped), lines end with CRLF, LF or CR, one space after the
 * colon is stripped, data lines are joined with LF, the event type is reset
 * after each event while the last event id persists until an `id` field
 * changes it, an id with NUL is ignored, an event with no data is not
 * dispatched and an unterminated event at the end is discarded.
 */
function parseEventStream(wire: string): ParsedStream {
  const text = new TextDecoder('utf-8').decode(Buffer.from(wire, 'utf8'));
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // what follows the last line break is not a complete line
  const parsed: ParsedStream = { events: [], comments: [], fields: [] };
  let type = '';
  let data = '';
  let lastEventId = '';
  for (const line of lines) {
    if (line === '') {
      if (data !== '') {
        parsed.events.push({ type: type || 'message', lastEventId, data: data.slice(0, -1) });
      }
      type = '';
      data = '';
      continue;
    }
    if (line.startsWith(':')) {
      parsed.comments.push(line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    parsed.fields.push(field);
    if (field === 'event') type = value;
    else if (field === 'data') data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) lastEventId = value;
  }
  return parsed;
}

/** The events an EventSource (the `eventsource` package) receives when a server sends `wire`. */
async function receiveWithEventSource(
  wire: string,
  types: readonly string[],
  count: number,
  next: () => number,
): Promise<DispatchedEvent[]> {
  const bytes = Buffer.from(wire, 'utf8');
  const server = createServer((request, response) => {
    if (request.headers['last-event-id'] !== undefined) {
      response.writeHead(204).end(); // a reconnection: there is nothing more
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    // Small random chunks, so that UTF-8 sequences and CRLFs are split across them.
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(next() * 64);
      response.write(bytes.subarray(at, at + size));
      at += size;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const source = new EventSource(`http://127.0.0.1:${port}/`);
  const received: DispatchedEvent[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`received ${received.length} of ${count} events`)),
        10_000,
      );
      for (const type of types) {
        source.addEventListener(type, (event: MessageEvent<string>) => {
          received.push({ type: event.type, lastEventId: event.lastEventId, data: event.data });
          if (received.length === count) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
  } finally {
    source.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return received;
}

/** Pieces of data: every kind of line break, spaces, colons, field look-alikes, unicode. */
const DATA_PIECES = [
  'a',
  'Z',
  '7',
  ' ',
  '  ',
  ':',
  ': ',
  '\n',
  '\r',
  '\r\n',
  '\n\r',
  '\n\n',
  '\t',
  '\0',
  ',',
  '"',
  '\\',
  '%',
  '{"x":1}',
  'é',
  '日本',
  '\u{1F600}',
  '\u2028',
  '\u2029',
  '\u0085',
  '\uFEFF',
  'data: x',
  'event: evil',
  'id: 666',
  'retry: 1',
  ': comment',
];

/** Pieces of event types and ids: anything but CR, LF and NUL. */
const FIELD_PIECES = [
  'a',
  'Z',
  '7',
  '-',
  '.',
  ' ',
  ':',
  ': ',
  ',',
  '%',
  '\t',
  'é',
  '日本',
  '\u{1F600}',
  '\u2028',
  '\uFEFF',
  'data',
  'room%3Alobby:5',
];

function randomText(next: () => number, pieces: readonly string[], maxPieces: number): string {
  let text = '';
  const count = Math.floor(next() * (maxPieces + 1));
  for (let i = 0; i < count; i++) text += pieces[Math.floor(next() * pieces.length)];
  return text;
}

function randomFrame(next: () => number): SseFrame {
  const event = next() < 0.25 ? undefined : randomText(next, FIELD_PIECES, 5);
  const id = next() < 0.3 ? undefined : randomText(next, FIELD_PIECES, 5);
  return { event, id, data: randomText(next, DATA_PIECES, 12) };
}

/** SSE has no way to send a CR: clients read a CR or CRLF in data as LF. */
function asReceived(data: string): string {
  return data.replace(/\r\n?/g, '\n');
}

/** What a client dispatches for `frames`, sent in order. */
function expectedEvents(frames: readonly SseFrame[]): DispatchedEvent[] {
  let lastEventId = '';
  return frames.map((frame) => {
    lastEventId = frame.id ?? lastEventId;
    return { type: frame.event || 'message', lastEventId, data: asReceived(frame.data) };
  });
}

describe('encodeFrame', () => {
  test('writes the event, id and data fields in that order and ends with a blank line', () => {
    expect(encodeFrame({ event: 'chat', id: 'a:1', data: '{"x":1}' })).toBe(
      'event: chat\nid: a:1\ndata: {"x":1}\n\n',
    );
  });

  test('omits the event line when there is no event type', () => {
    expect(encodeFrame({ id: 'a:1', data: 'x' })).toBe('id: a:1\ndata: x\n\n');
  });

  test('omits the id line when there is no id', () => {
    expect(encodeFrame({ event: 'chat', data: 'x' })).toBe('event: chat\ndata: x\n\n');
  });

  test('writes only the data when there is neither', () => {
    expect(encodeFrame({ data: 'x' })).toBe('data: x\n\n');
  });

  test('writes empty data as one empty data line, which still dispatches an event', () => {
    const frame = encodeFrame({ event: 'ping', data: '' });
    expect(frame).toBe('event: ping\ndata: \n\n');
    expect(parseEventStream(frame).events).toEqual([{ type: 'ping', lastEventId: '', data: '' }]);
  });

  test.each([
    ['LF', 'a\nb', ['a', 'b']],
    ['CRLF', 'a\r\nb', ['a', 'b']],
    ['CR', 'a\rb', ['a', 'b']],
    ['mixed breaks', 'a\rb\nc\r\nd', ['a', 'b', 'c', 'd']],
    ['a blank line (LF)', 'a\n\nb', ['a', '', 'b']],
    ['a blank line (CRLF)', 'a\r\n\r\nb', ['a', '', 'b']],
    ['LF then CR (two breaks)', 'a\n\rb', ['a', '', 'b']],
    ['a trailing break', 'a\n', ['a', '']],
    ['a leading break', '\na', ['', 'a']],
    ['only a break', '\r\n', ['', '']],
  ])('splits data with %s into several data lines', (_, data, lines) => {
    const frame = encodeFrame({ data });
    expect(frame).toBe(`${lines.map((line) => `data: ${line}\n`).join('')}\n`);
    expect(parseEventStream(frame).events).toEqual([
      { type: 'message', lastEventId: '', data: lines.join('\n') },
    ]);
  });

  test.each([
    ['U+2028', 'a\u2028b'],
    ['U+2029', 'a\u2029b'],
    ['NEL (U+0085)', 'a\u0085b'],
    ['a vertical tab and a form feed', 'a\vb\fc'],
    ['NUL', 'a\0b'],
  ])('keeps %s in one data line: SSE breaks lines only at CR and LF', (_, data) => {
    const frame = encodeFrame({ data });
    expect(frame).toBe(`data: ${data}\n\n`);
    expect(parseEventStream(frame).events).toEqual([{ type: 'message', lastEventId: '', data }]);
  });

  test('keeps a leading space: the client strips only the one after the colon', () => {
    const frame = encodeFrame({ data: ' x\n  y' });
    expect(frame).toBe('data:  x\ndata:   y\n\n');
    expect(parseEventStream(frame).events[0].data).toBe(' x\n  y');
  });

  test('keeps colons in the data', () => {
    expect(encodeFrame({ data: 'a: b:c' })).toBe('data: a: b:c\n\n');
  });

  test('keeps field look-alikes in the data: they cannot inject fields or split the event', () => {
    const data = 'x\nevent: evil\nid: 666\n\ndata: injected\rretry: 1\r\n: comment';
    const frame = encodeFrame({ event: 'chat', id: 'a:1', data });
    expect(frame).toBe(
      'event: chat\nid: a:1\ndata: x\ndata: event: evil\ndata: id: 666\ndata: \n' +
        'data: data: injected\ndata: retry: 1\ndata: : comment\n\n',
    );
    const parsed = parseEventStream(frame);
    expect(parsed.fields).toEqual(['event', 'id', ...Array<string>(7).fill('data')]);
    expect(parsed.comments).toEqual([]);
    expect(parsed.events).toEqual([{ type: 'chat', lastEventId: 'a:1', data: asReceived(data) }]);
  });

  test('keeps leading spaces, colons and unicode in the event type and id', () => {
    const frame = encodeFrame({ event: ' é:日本', id: ' room%3Alobby:5,b:7', data: '1' });
    expect(frame).toBe('event:  é:日本\nid:  room%3Alobby:5,b:7\ndata: 1\n\n');
    expect(parseEventStream(frame).events).toEqual([
      { type: ' é:日本', lastEventId: ' room%3Alobby:5,b:7', data: '1' },
    ]);
  });

  describe.each(['event', 'id'] as const)('a line break or NUL in the %s', (field) => {
    test.each([
      ['LF', 'a\nb'],
      ['CR', 'a\rb'],
      ['CRLF', 'a\r\nb'],
      ['a trailing LF', 'chat\n'],
      ['a leading CR', '\rchat'],
      ['only LF', '\n'],
      ['NUL', 'a\0b'],
      ['an injected field', 'chat\ndata: evil\n\n'],
    ])('throws for %s', (_, value) => {
      const error = thrown(() => encodeFrame({ [field]: value, data: 'x' }));
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe(`SSE ${field} cannot contain a line break or NUL`);
    });
  });
});

describe('STREAM_OPEN', () => {
  test('is a comment of 2048 spaces, then a stream-open event with empty data and no id', () => {
    expect(STREAM_OPEN).toBe(`:${' '.repeat(2048)}\n\nevent: stream-open\ndata: \n\n`);
  });

  test('puts 2 KiB of padding before the stream-open event', () => {
    expect(STREAM_OPEN.indexOf('event:')).toBeGreaterThanOrEqual(2048);
    expect(STREAM_OPEN.endsWith('event: stream-open\ndata: \n\n')).toBe(true);
  });

  test('is read as one stream-open event', () => {
    const parsed = parseEventStream(STREAM_OPEN);
    expect(parsed.comments).toEqual([' '.repeat(2048)]);
    expect(parsed.events).toEqual([{ type: 'stream-open', lastEventId: '', data: '' }]);
  });
});

describe('KEEP_ALIVE', () => {
  test('is a keep-alive event with empty data and no id line', () => {
    expect(KEEP_ALIVE).toBe('event: keep-alive\ndata: \n\n');
    expect(KEEP_ALIVE).not.toMatch(/^id/m);
  });

  test('does not move the client cursor', () => {
    const parsed = parseEventStream(encodeFrame({ id: 'a:3', data: '1' }) + KEEP_ALIVE);
    expect(parsed.events).toEqual([
      { type: 'message', lastEventId: 'a:3', data: '1' },
      { type: 'keep-alive', lastEventId: 'a:3', data: '' },
    ]);
  });
});

describe('streamResetFrame', () => {
  test('is a stream-reset event with the given id and the channels as JSON', () => {
    expect(streamResetFrame(['a', 'room:lobby'], 'a:3,room%3Alobby:7')).toBe(
      'event: stream-reset\nid: a:3,room%3Alobby:7\ndata: {"channels":["a","room:lobby"]}\n\n',
    );
  });

  test('is read back as the same channels', () => {
    const channels = ['a', 'room:lobby', 'café', '日本'];
    const [event] = parseEventStream(streamResetFrame(channels, 'a:1')).events;
    expect(event.type).toBe('stream-reset');
    expect(event.lastEventId).toBe('a:1');
    expect(JSON.parse(event.data)).toEqual({ channels });
  });

  test('writes an empty list of channels', () => {
    expect(streamResetFrame([], 'a:0')).toBe(
      'event: stream-reset\nid: a:0\ndata: {"channels":[]}\n\n',
    );
  });

  test('throws for an id with a line break', () => {
    expect(() => streamResetFrame(['a'], 'a:1\ndata: x')).toThrow(
      'SSE id cannot contain a line break or NUL',
    );
  });
});

describe('streamErrorFrame', () => {
  test('is a stream-error event with id "error" and the condition and text as JSON', () => {
    expect(streamErrorFrame('forbidden', 'Not allowed to read channel "a"')).toBe(
      'event: stream-error\nid: error\n' +
        'data: {"condition":"forbidden","text":"Not allowed to read channel \\"a\\""}\n\n',
    );
  });

  test('keeps a text with line breaks, quotes and backslashes on one data line', () => {
    const text = 'line 1\nline 2\r\nline 3\r"quoted" \\ \u2028 event: evil\n\n';
    const condition = 'bad\nrequest';
    const frame = streamErrorFrame(condition, text);
    expect(frame.split('\n').filter((line) => line.startsWith('data:'))).toHaveLength(1);
    expect(frame).not.toMatch(/\r/);
    const parsed = parseEventStream(frame);
    expect(parsed.fields).toEqual(['event', 'id', 'data']);
    expect(parsed.events).toHaveLength(1);
    expect(parsed.events[0].type).toBe('stream-error');
    expect(parsed.events[0].lastEventId).toBe('error');
    expect(JSON.parse(parsed.events[0].data)).toEqual({ condition, text });
  });
});

describe('the spec-local SSE parser', () => {
  // These pin the parser used above to the WHATWG algorithm, so that a
  // passing round trip means something.
  test('reads LF, CRLF and CR line ends alike', () => {
    expect(parseEventStream('data: a\r\ndata: b\rdata: c\n\r').events).toEqual([
      { type: 'message', lastEventId: '', data: 'a\nb\nc' },
    ]);
  });

  test('strips one space after the colon, and none when there is none', () => {
    expect(parseEventStream('data:a\ndata:  b\nevent:x\n\n').events).toEqual([
      { type: 'x', lastEventId: '', data: 'a\n b' },
    ]);
  });

  test('keeps the last id across events, resets the type, and ignores an id with NUL', () => {
    const stream = 'event: t\nid: 1\ndata: a\n\ndata: b\n\nid: 2\0\ndata: c\n\nid\ndata: d\n\n';
    expect(parseEventStream(stream).events).toEqual([
      { type: 't', lastEventId: '1', data: 'a' },
      { type: 'message', lastEventId: '1', data: 'b' },
      { type: 'message', lastEventId: '1', data: 'c' },
      { type: 'message', lastEventId: '', data: 'd' },
    ]);
  });

  test('dispatches nothing without data, and drops an unterminated event', () => {
    expect(parseEventStream('event: t\n\n: c\n\ndata: a\n').events).toEqual([]);
  });

  test('drops a BOM at the start of the stream only', () => {
    expect(parseEventStream('\uFEFFdata: \uFEFFa\n\n').events).toEqual([
      { type: 'message', lastEventId: '', data: '\uFEFFa' },
    ]);
  });
});

describe('frames read back by an SSE client (seeded random)', () => {
  const next = random(20240612);
  const frames = Array.from({ length: 600 }, () => randomFrame(next));

  test('every frame is only event, id and data lines, ending with its one blank line', () => {
    for (const frame of frames) {
      const encoded = encodeFrame(frame);
      const lines = encoded.split(/\r\n|\r|\n/);
      expect(lines.slice(-2)).toEqual(['', '']);
      const body = lines.slice(0, -2);
      const expected = [
        ...(frame.event === undefined ? [] : [`event: ${frame.event}`]),
        ...(frame.id === undefined ? [] : [`id: ${frame.id}`]),
        ...asReceived(frame.data)
          .split('\n')
          .map((line) => `data: ${line}`),
      ];
      expect(body).toEqual(expected);
    }
  });

  test('every frame alone is read as exactly one event with its type, id and data', () => {
    for (const frame of frames) {
      expect(parseEventStream(encodeFrame(frame)).events).toEqual(expectedEvents([frame]));
    }
  });

  test('the frames sent one after another are read back in order, one event each', () => {
    const open: SseFrame = { event: 'stream-open', data: '' };
    const keepAlive: SseFrame = { event: 'keep-alive', data: '' };
    const sent: SseFrame[] = [open];
    let wire = STREAM_OPEN;
    frames.forEach((frame, i) => {
      wire += encodeFrame(frame);
      sent.push(frame);
      if (i % 50 === 49) {
        wire += KEEP_ALIVE;
        sent.push(keepAlive);
      }
    });
    expect(parseEventStream(wire).events).toEqual(expectedEvents(sent));
  });

  test('JSON data, as the library sends it, comes back exactly', () => {
    for (const frame of frames) {
      const json = JSON.stringify({ text: frame.data, event: frame.event, id: frame.id });
      const [event] = parseEventStream(encodeFrame({ id: 'a:1', data: json })).events;
      expect(event.data).toBe(json);
      expect(JSON.parse(event.data)).toEqual({
        text: frame.data,
        event: frame.event,
        id: frame.id,
      });
    }
  });

  test('the eventsource client reads the same events off the wire', async () => {
    const sent: SseFrame[] = [{ event: 'stream-open', data: '' }, ...frames];
    const wire = STREAM_OPEN + frames.map(encodeFrame).join('');
    const expected = expectedEvents(sent);
    const types = [...new Set(expected.map((event) => event.type))];
    const received = await receiveWithEventSource(wire, types, expected.length, next);
    expect(received).toEqual(expected);
  });
});

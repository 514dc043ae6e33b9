import { SseParser, type SseMessage } from './sse-parser';

function parse(...chunks: string[]): SseMessage[] {
  const messages: SseMessage[] = [];
  const parser = new SseParser((message) => messages.push(message));
  for (const chunk of chunks) parser.push(chunk);
  return messages;
}

describe('SseParser', () => {
  it('reads the frames the server writes: padding, stream-open, events, keep-alive', () => {
    const stream =
      `:${' '.repeat(2048)}\n\n` +
      'event: stream-open\ndata: \n\n' +
      'event: story\nid: news:1,room%3Alobby:0\ndata: {"title":"Hello"}\n\n' +
      'event: keep-alive\ndata: \n\n' +
      'event: stream-error\nid: error\ndata: {"condition":"forbidden","text":"no"}\n\n';
    expect(parse(stream)).toEqual([
      { type: 'stream-open', id: undefined, data: '' },
      { type: 'story', id: 'news:1,room%3Alobby:0', data: '{"title":"Hello"}' },
      { type: 'keep-alive', id: undefined, data: '' },
      { type: 'stream-error', id: 'error', data: '{"condition":"forbidden","text":"no"}' },
    ]);
  });

  it('gives the same events however the bytes are split, with any line break', () => {
    const text =
      '\uFEFFevent: a\r\nid: x:1\r\ndata: 1\r\ndata: 2\r\n\r\ndata:3\r\rid: x:2\ndata: "4"\n\n';
    const expected = [
      { type: 'a', id: 'x:1', data: '1\n2' },
      { type: 'message', id: undefined, data: '3' },
      { type: 'message', id: 'x:2', data: '"4"' },
    ];
    expect(parse(text)).toEqual(expected);
    for (let cut = 1; cut < text.length; cut++) {
      expect(parse(text.slice(0, cut), text.slice(cut))).toEqual(expected);
    }
    expect(parse(...text.split(''))).toEqual(expected);
  });

  it("gives an event only the id it carried, never the previous event's", () => {
    expect(parse('id: c:1\ndata: 1\n\ndata: 2\n\n').map((m) => m.id)).toEqual(['c:1', undefined]);
  });

  it('skips comments, unknown fields, blocks without data and an unfinished last event', () => {
    expect(parse(': hi\nretry: 10\nfoo: bar\n\nevent: x\n\ndata: kept\n\ndata: cut')).toEqual([
      { type: 'message', id: undefined, data: 'kept' },
    ]);
  });

  it('takes a field without a colon as empty, and only one leading space off a value', () => {
    expect(parse('data\ndata:  two\n\n')).toEqual([
      { type: 'message', id: undefined, data: '\n two' },
    ]);
  });
});

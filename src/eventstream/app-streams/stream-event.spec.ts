import { DEFAULT_EVENT_LIMITS } from '../events/event-limits';
import {
  checkStreamEvent,
  encodeStreamEvent,
  InvalidStreamEventError,
  MAX_STREAM_EVENT_ID_LENGTH,
} from './stream-event';

const encode = (value: unknown) => encodeStreamEvent(checkStreamEvent(value, DEFAULT_EVENT_LIMITS));

describe('app stream events', () => {
  it('encodes type, id, retry and JSON data as one frame', () => {
    expect(encode({ type: 'tick', id: 'a:1', data: { at: 'x\ny' }, retry: 500 })).toBe(
      'retry: 500\nevent: tick\nid: a:1\ndata: {"at":"x\\ny"}\n\n',
    );
    expect(encode({ data: null })).toBe('data: null\n\n');
    expect(encode({ data: 'line1\r\nline2' })).toBe('data: "line1\\r\\nline2"\n\n');
  });

  it.each([
    ['a line break in the type', { type: 'a\nevent: x', data: 1 }, /control characters/],
    ['a CR in the id', { id: '1\rdata: x', data: 1 }, /control characters/],
    ['NUL in the id', { id: 'a\0', data: 1 }, /control characters/],
    ['an empty id', { id: '', data: 1 }, /1 to 1024/],
    ['a long id', { id: 'x'.repeat(MAX_STREAM_EVENT_ID_LENGTH + 1), data: 1 }, /1 to 1024/],
    ['the id error', { id: 'error', data: 1 }, /reserved/],
    ['a numeric id', { id: 7, data: 1 }, /must be a string/],
    ['a protocol type', { type: 'keep-alive', data: 1 }, /reserved/],
    ['an empty type', { type: '', data: 1 }, /cannot be empty/],
    ['no data', { type: 'x' }, /data is required/],
    ['undefined data', { data: undefined }, /data is required/],
    ['data JSON cannot hold', { data: 1n }, /JSON/],
    ['an unknown field', { event: 'x', data: 1 }, /unknown field "event"/],
    ['a negative retry', { data: 1, retry: -1 }, /retry/],
    ['a fractional retry', { data: 1, retry: 1.5 }, /retry/],
    ['a bare string', 'hello', /got a string/],
    ['null', null, /got null/],
    ['an array', [{ data: 1 }], /got an array/],
  ])('refuses %s', (_, value, message) => {
    const check = () => checkStreamEvent(value, DEFAULT_EVENT_LIMITS);
    expect(check).toThrow(InvalidStreamEventError);
    expect(check).toThrow(message);
  });

  it('never writes more than the fields it was given, whatever the strings hold', () => {
    const texts = ['a', 'a b', 'é', '💡', 'a:b,c', '%0A', 'data: x', 'id: 1'];
    for (const type of texts) {
      for (const id of texts) {
        const frame = encode({ type, id, data: `${type}\n${id}` });
        const lines = frame.split('\n');
        expect(lines).toEqual([
          `event: ${type}`,
          `id: ${id}`,
          `data: ${JSON.stringify(`${type}\n${id}`)}`,
          '',
          '',
        ]);
      }
    }
  });
});

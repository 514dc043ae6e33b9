import { InvalidPositionError } from '../errors/eventstream.errors';
import { MAX_LAST_EVENT_ID_LENGTH } from '../sse/event-position';
import { readLastEventId } from './last-event-id';

const read = (url: string, header?: string) =>
  readLastEventId({ url, headers: header === undefined ? {} : { 'last-event-id': header } });

describe('readLastEventId', () => {
  it('takes the header, else the last non-empty lastEventId of the query', () => {
    expect(read('/s')).toBeUndefined();
    expect(read('/s', '')).toBeUndefined();
    expect(read('/s?lastEventId=q', 'h')).toBe('h');
    expect(read('/s?lastEventId=a&lastEventId=b&lastEventId=')).toBe('b');
    expect(read('/s?lastEventId=room%3Aa%3A3')).toBe('room:a:3');
  });

  it.each([
    ['error', /id of an error/],
    ['a\nb', /control characters/],
    ['a\u0007', /control characters/],
    ['x'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1), /at most 12288/],
  ])('refuses %j', (id, message) => {
    const fromQuery = () => read(`/s?lastEventId=${encodeURIComponent(id)}`);
    expect(fromQuery).toThrow(InvalidPositionError);
    expect(fromQuery).toThrow(message);
  });
});

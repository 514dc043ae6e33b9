import { InvalidEventDataError, InvalidEventTypeError } from '../errors/eventstream.errors';
import { DEFAULT_EVENT_LIMITS } from '../events/event-limits';
import { initialFrames } from './initial-frames';

const framesOf = (events: unknown) =>
  initialFrames(
    { onConnect: () => events as [] },
    { user: undefined, channels: ['c'], request: {}, lastEventId: undefined },
    DEFAULT_EVENT_LIMITS,
  );

describe('initialFrames', () => {
  it('encodes each event without an id line', async () => {
    expect(await framesOf([{ type: 'state', data: { n: 1 } }])).toBe(
      'event: state\ndata: {"n":1}\n\n',
    );
    expect(await framesOf(undefined)).toBe('');
  });

  it('refuses reserved types and events that are not objects', async () => {
    await expect(framesOf([{ type: 'stream-open', data: 1 }])).rejects.toBeInstanceOf(
      InvalidEventTypeError,
    );
    await expect(framesOf(['state'])).rejects.toThrow(/array of \{ type, data \} events/);
  });

  it('caps them at 64 KiB together, counting each % twice as a GRIP reply escapes it', async () => {
    const text = (char: string) => [{ type: 'doc', data: char.repeat(40_000) }];
    await expect(framesOf(text('x'))).resolves.toContain('data: "xxx');
    await expect(framesOf(text('%'))).rejects.toBeInstanceOf(InvalidEventDataError);
  });
});

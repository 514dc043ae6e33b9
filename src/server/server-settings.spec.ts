import { readServerSettings } from './server-settings';

describe('EVENTSTREAM_MAX_STREAMS', () => {
  test('is the module default when unset or empty', () => {
    expect(readServerSettings({}).maxStreams).toBeUndefined();
    expect(readServerSettings({ EVENTSTREAM_MAX_STREAMS: '' }).maxStreams).toBeUndefined();
  });

  test('is read as a whole number', () => {
    expect(readServerSettings({ EVENTSTREAM_MAX_STREAMS: '5000' }).maxStreams).toBe(5000);
  });

  test.each(['0', '-1', '1.5', 'ten', '1e3', ' 5', '99999999999999999999'])(
    'refuses %p, naming the variable',
    (value) => {
      expect(() => readServerSettings({ EVENTSTREAM_MAX_STREAMS: value })).toThrow(
        `EVENTSTREAM_MAX_STREAMS must be a whole number of at least 1, got "${value}"`,
      );
    },
  );
});

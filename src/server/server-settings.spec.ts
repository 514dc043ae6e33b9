import { readServerSettings } from './server-settings';

describe('GRIP_STATS', () => {
  const GRIP_URL = 'http://pushpin:5561/?iss=pushpin&key=k';

  test('is none when unset or empty', () => {
    expect(readServerSettings({ GRIP_URL }).gripStats).toEqual([]);
    expect(readServerSettings({ GRIP_URL, GRIP_STATS: ' ' }).gripStats).toEqual([]);
  });

  test('lists comma-separated addresses, one per Pushpin', () => {
    expect(
      readServerSettings({ GRIP_URL, GRIP_STATS: 'tcp://pushpin:5564, tcp://pushpin-2:5564' })
        .gripStats,
    ).toEqual(['tcp://pushpin:5564', 'tcp://pushpin-2:5564']);
  });

  test('needs GRIP_URL', () => {
    expect(() => readServerSettings({ GRIP_STATS: 'tcp://pushpin:5564' })).toThrow(
      'GRIP_STATS needs GRIP_URL',
    );
  });
});

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

describe('GRIP_URL', () => {
  test('is direct mode when unset or blank', () => {
    expect(readServerSettings({}).gripUrls).toEqual([]);
    expect(readServerSettings({ GRIP_URL: ' ' }).gripUrls).toEqual([]);
  });

  test('lists whitespace-separated URLs, one per proxy, keeping commas inside a URL', () => {
    const first = 'http://pushpin-1:5561/?iss=pushpin&key=k';
    const second = 'http://pushpin-2:5561/?iss=pushpin&key=k,with,commas';
    expect(readServerSettings({ GRIP_URL: first }).gripUrls).toEqual([first]);
    expect(readServerSettings({ GRIP_URL: ` ${first}\n  ${second} ` }).gripUrls).toEqual([
      first,
      second,
    ]);
  });
});

describe('DATABASE_REPLICA_URLS', () => {
  const DATABASE_URL = 'postgres://app@primary/app';

  test('is none when unset or blank', () => {
    expect(readServerSettings({ DATABASE_URL }).replicaUrls).toEqual([]);
    expect(readServerSettings({ DATABASE_URL, DATABASE_REPLICA_URLS: ' ' }).replicaUrls).toEqual(
      [],
    );
  });

  test('lists whitespace-separated URLs, keeping a host list with commas whole', () => {
    const replicas = 'postgres://app@r1/app postgresql://app@r2:5432,r3:5432/app';
    expect(
      readServerSettings({ DATABASE_URL, DATABASE_REPLICA_URLS: replicas }).replicaUrls,
    ).toEqual(['postgres://app@r1/app', 'postgresql://app@r2:5432,r3:5432/app']);
  });

  test('needs DATABASE_URL', () => {
    expect(() => readServerSettings({ DATABASE_REPLICA_URLS: 'postgres://app@r1/app' })).toThrow(
      'DATABASE_REPLICA_URLS needs DATABASE_URL',
    );
  });
});

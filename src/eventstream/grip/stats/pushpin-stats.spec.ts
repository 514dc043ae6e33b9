import { Logger } from '@nestjs/common';
import { Publisher } from 'zeromq';
import { freePort } from '../../../server/free-port';
import { pushpinChannel, pushpinCompositeChannel, pushpinLinkChannel } from '../grip-names';
import { PushpinStats } from './pushpin-stats';

/**
 * The reader against a real ZeroMQ socket that stands in for Pushpin's, to
 * send what a real Pushpin never would (the e2e suite has the real one).
 */
describe('PushpinStats, fed by a stand-in stats socket', () => {
  let publisher: Publisher;
  let stats: PushpinStats;
  let endpoint: string;

  const sub = (channel: string, fields: object) =>
    `sub J${JSON.stringify({ from: 'pushpin-handler_1', mode: 'stream', channel, ...fields })}`;
  const send = (...messages: string[]) =>
    messages.reduce((sent, m) => sent.then(() => publisher.send(m)), Promise.resolve());
  const eventually = async (check: () => void, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return check();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };

  beforeEach(async () => {
    endpoint = `tcp://127.0.0.1:${await freePort()}`;
    publisher = new Publisher();
    await publisher.bind(endpoint);
    stats = new PushpinStats([endpoint]);
    stats.start();
    // A subscriber misses what is published before it has joined: resend until it has.
    await eventually(() => {
      void send(sub(pushpinChannel('ready'), { subscribers: 1, ttl: 60 }));
      expect(stats.presence('ready').streams).toBe(1);
    });
  });
  afterEach(async () => {
    await stats.stop();
    publisher.close();
    jest.restoreAllMocks();
  });

  it('reads on past packets it cannot read, saying so once, and ignores what is not its own', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await send(
      'sub Tnot a tnetstring',
      'sub J{',
      sub(pushpinChannel('a'), { subscribers: 'many', ttl: 60 }),
      sub(pushpinChannel('a'), { subscribers: 2, ttl: 60 }),
      // Response holds and WebSockets are not this library's streams.
      sub(pushpinChannel('a'), { mode: 'response', subscribers: 5, ttl: 60 }),
      sub(pushpinChannel('a'), { mode: 'ws', subscribers: 5, ttl: 60 }),
      // Nor channels of other origins behind the same Pushpin.
      sub('a', { subscribers: 7, ttl: 60 }),
      sub(pushpinCompositeChannel('a'), { subscribers: 1, ttl: 60 }),
      sub(pushpinLinkChannel('ann', ['a', 'b']), { subscribers: 1, ttl: 60 }),
      'sub X',
    );
    await eventually(() => expect(stats.presence('a')).toEqual({ streams: 3, users: ['ann'] }));
    expect(stats.presence('b')).toEqual({ streams: 0, users: ['ann'] });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(
      new RegExp(`^Pushpin stats at ${endpoint}: ignoring a packet that cannot be read \\(`),
    );
  });

  it('lists the known users held on each wanted channel, for join and leave events', async () => {
    await send(
      sub(pushpinChannel('lobby'), { subscribers: 1, ttl: 60 }),
      sub(pushpinCompositeChannel('room-1'), { subscribers: 2, ttl: 60 }),
      sub(pushpinCompositeChannel('lobby'), { subscribers: 1, ttl: 60 }),
      sub(pushpinChannel('quiet'), { subscribers: 1, ttl: 60 }),
      // Anonymous streams only: no user to announce.
      sub(pushpinChannel('room-2'), { subscribers: 1, ttl: 60 }),
      sub(pushpinLinkChannel('ann', ['lobby']), { subscribers: 1, ttl: 60 }),
      sub(pushpinLinkChannel('bob', ['room-1', 'lobby']), { subscribers: 1, ttl: 60 }),
      sub(pushpinLinkChannel('cyd', ['quiet']), { subscribers: 1, ttl: 60 }),
    );
    const wanted = (channel: string) => channel !== 'quiet';
    const expected = new Map([
      ['lobby', new Set(['ann', 'bob'])],
      ['room-1', new Set(['bob'])],
    ]);
    await eventually(() => expect(stats.heldUsers(wanted)).toEqual(expected));
    await send(sub(pushpinLinkChannel('ann', ['lobby']), { unavailable: true }));
    expected.set('lobby', new Set(['bob']));
    await eventually(() => expect(stats.heldUsers(wanted)).toEqual(expected));
  });

  it("forgets a Pushpin's counts when its stats connection closes", async () => {
    await send(sub(pushpinChannel('a'), { subscribers: 4, ttl: 60 }));
    await eventually(() => expect(stats.presence('a').streams).toBe(4));
    publisher.close();
    await eventually(() => expect(stats.presence('a').streams).toBe(0), 3_000);
  });
});

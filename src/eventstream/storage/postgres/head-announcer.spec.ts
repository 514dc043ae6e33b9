import { Logger } from '@nestjs/common';
import type { QueryConfig } from 'pg';
import { HeadAnnouncer } from './head-announcer';

/** A database seam whose statements the test finishes one by one. */
class FakeDatabase {
  readonly statements: { payloads: string[]; finish: (error?: Error) => void }[] = [];

  query(config: QueryConfig): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const [, payloads] = config.values as [string, string[]];
      this.statements.push({
        payloads,
        finish: (error) => (error ? reject(error) : resolve({ rows: [] })),
      });
    });
  }
}

const heads = (...entries: [string, number][]) => new Map(entries);
/** Lets the announcer go on: settles promises, and runs timers due within `ms`. */
const advance = (ms = 0) => jest.advanceTimersByTimeAsync(ms);

describe('HeadAnnouncer', () => {
  let database: FakeDatabase;
  let announcer: HeadAnnouncer;

  beforeEach(() => {
    jest.useFakeTimers();
    database = new FakeDatabase();
    announcer = new HeadAnnouncer(database as never, 'es_eventstream');
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('announces at once, then merges what comes within 5 ms into one next statement', async () => {
    announcer.announce(heads(['a', 1]));
    expect(database.statements.map((s) => s.payloads)).toEqual([['h 1 a']]);
    announcer.announce(heads(['a', 2], ['b', 7]));
    announcer.announce(heads(['a', 3]));
    database.statements[0].finish();
    await advance(4);
    announcer.announce(heads(['b', 5]));
    expect(database.statements).toHaveLength(1);
    await advance(1);
    expect(database.statements.map((s) => s.payloads)).toEqual([['h 1 a'], ['h 3 a', 'h 7 b']]);
    database.statements[1].finish();
    // Idle again: the next one goes at once.
    await advance(5);
    announcer.announce(heads(['c', 1]));
    expect(database.statements.map((s) => s.payloads)[2]).toEqual(['h 1 c']);
  });

  it('says a failed statement’s heads again later, with newer ones merged in', async () => {
    announcer.announce(heads(['a', 1], ['b', 1]));
    announcer.announce(heads(['a', 2]));
    database.statements[0].finish(new Error('connection lost'));
    await advance();
    // Nothing is sent while it waits to retry.
    announcer.announce(heads(['a', 3]));
    expect(database.statements).toHaveLength(1);
    await advance(100);
    expect(database.statements.map((s) => s.payloads)[1]).toEqual(['h 3 a', 'h 1 b']);
  });

  it('sends what is pending when closed, then each later head at once', async () => {
    announcer.announce(heads(['a', 1]));
    announcer.announce(heads(['a', 2]));
    let closed = false;
    const closing = announcer.close().then(() => (closed = true));
    database.statements[0].finish();
    await advance();
    // No spacing once closing: what is pending goes now.
    expect(database.statements.map((s) => s.payloads)).toEqual([['h 1 a'], ['h 2 a']]);
    announcer.announce(heads(['b', 1]));
    expect(database.statements.map((s) => s.payloads)[2]).toEqual(['h 1 b']);
    database.statements[1].finish(new Error('pool ended'));
    await advance();
    await closing;
    expect(closed).toBe(true);
    expect(database.statements).toHaveLength(3);
  });

  it('closes even while heads keep coming, without waiting on them', async () => {
    announcer.announce(heads(['a', 1]));
    const closing = announcer.close();
    for (let seq = 2; seq <= 5; seq++) announcer.announce(heads(['a', seq]));
    database.statements.forEach((s) => s.finish());
    await advance();
    database.statements.forEach((s) => s.finish());
    await closing;
    expect(database.statements.at(-1)?.payloads).toEqual(['h 5 a']);
  });

  it('splits many channels into statements of at most 1,000 notifications', async () => {
    announcer.announce(heads(['first', 1]));
    announcer.announce(new Map(Array.from({ length: 2_500 }, (_, i) => [`c${i}`, i + 1])));
    database.statements[0].finish();
    for (let i = 1; i <= 3; i++) {
      await advance(5);
      database.statements[i].finish();
    }
    expect(database.statements.map((s) => s.payloads.length)).toEqual([1, 1_000, 1_000, 500]);
  });
});

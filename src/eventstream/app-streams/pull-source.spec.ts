import { Observable, Subject } from 'rxjs';
import { PendingLimitError, pullFrom } from './pull-source';

const LIMIT = { max: 10, weigh: () => 1 };

describe('pullFrom', () => {
  it("pulls an Observable's values in order, then ends", async () => {
    const subject = new Subject<number>();
    const source = pullFrom(subject, LIMIT);
    subject.next(1);
    subject.next(2);
    expect(await source.next()).toEqual({ done: false, value: 1 });
    expect(await source.next()).toEqual({ done: false, value: 2 });
    const third = source.next();
    subject.next(3);
    subject.complete();
    expect(await third).toEqual({ done: false, value: 3 });
    expect(await source.next()).toEqual({ done: true, value: undefined });
  });

  it('iterates an async iterable that is the one value', async () => {
    let cleanedUp = false;
    async function* numbers() {
      try {
        yield 1;
        yield 2;
        await new Promise(() => {});
      } finally {
        cleanedUp = true;
      }
    }
    const source = pullFrom(
      new Observable((s) => {
        s.next(numbers());
        s.complete();
      }),
      LIMIT,
    );
    expect(await source.next()).toEqual({ done: false, value: 1 });
    expect(await source.next()).toEqual({ done: false, value: 2 });
    source.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(cleanedUp).toBe(true);
  });

  it('passes on errors, and unsubscribes on stop', async () => {
    let unsubscribed = false;
    const failing = pullFrom(
      new Observable((s) => {
        s.error(new Error('boom'));
      }),
      LIMIT,
    );
    await expect(failing.next()).rejects.toThrow('boom');
    const endless = pullFrom(new Observable(() => () => (unsubscribed = true)), LIMIT);
    const pending = endless.next();
    endless.stop();
    expect(unsubscribed).toBe(true);
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('fails past the pending limit and unsubscribes, also for synchronous emitters', async () => {
    let unsubscribed = false;
    let emitted = 0;
    const source = pullFrom(
      new Observable<number>((s) => {
        for (let i = 0; i < 100 && !s.closed; i++) {
          s.next(i);
          emitted++;
        }
        return () => (unsubscribed = true);
      }),
      { max: 50, weigh: (value) => (value as number) + 1 },
    );
    // 1 + 2 + ... + 10 = 55 > 50: the tenth value is one too many.
    await expect(source.next()).rejects.toBeInstanceOf(PendingLimitError);
    expect(emitted).toBe(10);
    expect(unsubscribed).toBe(true);
  });
});

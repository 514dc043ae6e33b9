import fc from 'fast-check';
import { propertyRuns } from '../../../test/harness/property-runs';
import { checkedEvents, eventsOf, plainEvents } from './publish-body';

describe('plainEvents', () => {
  const name = fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('news', '', ' ', 'a\nb'));
  const field = fc.oneof(name, fc.jsonValue({ maxDepth: 2 }));
  const key = fc.constantFrom('channel', 'type', 'data', 'events', 'extra', '__proto__');
  /** Events that are nearly right as often as right: keys missing, extra, of the wrong type. */
  const event = fc.oneof(
    fc.record({ channel: name, type: name, data: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record(
      { channel: field, type: field, data: fc.jsonValue({ maxDepth: 2 }), extra: field },
      { requiredKeys: [] },
    ),
    fc.dictionary(key, field, { maxKeys: 4 }),
  );
  const body = fc.oneof(
    event,
    fc.record({ events: fc.array(event, { maxLength: 3 }) }),
    fc.record(
      { events: fc.oneof(fc.array(event), fc.jsonValue()), extra: field },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );

  test('takes only bodies the DTOs accept, with the same events', () => {
    let taken = 0;
    fc.assert(
      fc.property(body, (value) => {
        // As a request body is: parsed from JSON, so `__proto__` is an own key.
        const parsed: unknown = JSON.parse(JSON.stringify(value));
        const plain = plainEvents(parsed);
        if (plain === undefined) return;
        taken++;
        expect(checkedEvents(parsed)).toEqual(plain);
      }),
      propertyRuns(2_000),
    );
    // The property says something only if the fast path is taken often.
    expect(taken).toBeGreaterThan(200);
  });

  test('keeps data exactly as sent, and takes a batch of the most events allowed', () => {
    const data: unknown = JSON.parse('{"__proto__":{"polluted":true},"n":[1,{"a":null}]}');
    expect(eventsOf({ channel: 'a', type: 't', data })[0].data).toBe(data);
    const batch = {
      events: Array.from({ length: 1000 }, () => ({ channel: 'a', type: 't', data })),
    };
    expect(plainEvents(batch)).toHaveLength(1000);
    expect(plainEvents({ events: [...batch.events, batch.events[0]] })).toBeUndefined();
    expect(plainEvents({ events: [] })).toBeUndefined();
  });
});

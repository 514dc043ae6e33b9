// Compile-time tests of typed events: `npm run typecheck` (part of `npm run
// lint`) compiles this file. Each `@ts-expect-error` line must fail to compile,
// or tsc reports the directive as unused; each `expectTypeOf` must hold.
import { expectTypeOf } from 'expect-type';
import { createEventStream } from '../../src/client';
import type {
  ChannelEvents,
  EventInput,
  EventRecord,
  EventStreamService,
  PerChannel,
} from '../../src/eventstream';

interface ChatEvents {
  message: { text: string };
  typing: { userId: string };
}

type AppEvents = PerChannel<{
  [room: `room-${string}`]: ChatEvents;
  [user: `user-${string}`]: { notice: { title: string } };
}>;

export async function flatMap(events: EventStreamService<ChatEvents>): Promise<void> {
  const sent = await events.sendEvent('any-channel', 'message', { text: 'hi' });
  expectTypeOf(sent.data).toEqualTypeOf<{ text: string }>();
  await events.sendEvent('any-channel', 'typing', { userId: 'u1' });
  // @ts-expect-error an event type the map does not declare
  await events.sendEvent('any-channel', 'deleted', { text: 'hi' });
  // @ts-expect-error data of another type's shape
  await events.sendEvent('any-channel', 'message', { userId: 'u1' });
  // @ts-expect-error data missing a property
  await events.sendEvent('any-channel', 'message', {});
  await events.sendEvents([
    { channel: 'a', type: 'message', data: { text: 'x' } },
    { channel: 'b', type: 'typing', data: { userId: 'u' } },
  ]);
  await events.sendEvents([
    // @ts-expect-error a batch entry whose data does not match its type
    { channel: 'a', type: 'typing', data: { text: 'x' } },
  ]);
}

export async function perChannel(events: EventStreamService<AppEvents>, id: string) {
  await events.sendEvent(`room-${id}`, 'message', { text: 'hi' });
  await events.sendEvent('user-7', 'notice', { title: 'Welcome' });
  // @ts-expect-error a room event on a user channel
  await events.sendEvent('user-7', 'message', { text: 'hi' });
  // @ts-expect-error a channel that matches no pattern
  await events.sendEvent('lobby', 'message', { text: 'hi' });
  // @ts-expect-error a user event with a room's data
  await events.sendEvent('user-7', 'notice', { text: 'hi' });
  await events.sendEvents([
    { channel: 'room-1', type: 'typing', data: { userId: 'u' } },
    { channel: 'user-1', type: 'notice', data: { title: 't' } },
  ]);
  // @ts-expect-error a batch entry on the wrong kind of channel
  await events.sendEvents([{ channel: 'user-1', type: 'typing', data: { userId: 'u' } }]);
  expectTypeOf<ChannelEvents<AppEvents, 'room-lobby'>>().toEqualTypeOf<ChatEvents>();
  expectTypeOf<ChannelEvents<AppEvents, 'user-1'>>().toEqualTypeOf<{
    notice: { title: string };
  }>();
}

export async function untyped(events: EventStreamService) {
  // Without a map: any type, any data, as before.
  const sent = await events.sendEvent('news', 'anything', [1, 2, 3]);
  expectTypeOf(sent).toEqualTypeOf<EventRecord<unknown>>();
  expectTypeOf<EventInput>().toEqualTypeOf<{
    readonly channel: string;
    readonly type: string;
    readonly data: unknown;
  }>();
}

// The browser client takes the same map, or one channel's events of a PerChannel map.
export function sameMapOnTheClient(url: string) {
  const chat = createEventStream<ChatEvents>(url, { channels: ['room-1'] });
  chat.on('message', (data) => expectTypeOf(data).toEqualTypeOf<{ text: string }>());
  // @ts-expect-error a type the map does not declare
  chat.on('deleted', () => undefined);
  // @ts-expect-error a listener expecting another type's data
  chat.on('typing', (data: { text: string }) => data);

  const inbox = createEventStream<ChannelEvents<AppEvents, 'user-7'>>(url, {
    channels: ['user-7'],
  });
  inbox.on('notice', (data) => expectTypeOf(data.title).toEqualTypeOf<string>());
  // @ts-expect-error a room event on a user channel's stream
  inbox.on('message', () => undefined);
}

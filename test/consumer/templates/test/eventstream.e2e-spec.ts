import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventStreamService } from 'nestjs-eventstream';
import { EVENT_STORE, type EventStore } from 'nestjs-eventstream/storage';
import { AppModule } from '../src/app.module.js';
import { createHttpAdapter } from '../src/http-adapter.js';
import { SseStream } from './sse-stream.js';

// Globals of the app's own runner (vitest with `globals: true`, or Jest), so
// the same file runs under both.
describe('nestjs-eventstream in this app', () => {
  let app: INestApplication;
  let events: EventStreamService;
  let streamUrl: string;
  const channel = 'consumer-suite';

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication(createHttpAdapter());
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    streamUrl = `http://127.0.0.1:${port}/events?channel=${channel}`;
    events = app.get(EventStreamService);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  it('streams what EventStreamService sends, and resumes after Last-Event-ID', async () => {
    const live = await SseStream.open(streamUrl);
    expect((await live.next()).event).toBe('stream-open');
    const first = await events.sendEvent(channel, 'note', { text: 'first' });
    expect(first.id).toBe(`${channel}:1`);
    expect(await live.next()).toEqual({ event: 'note', id: first.id, data: '{"text":"first"}' });
    live.close();

    // Sent while no client is connected: the resumed stream must bring these
    // and nothing from before them.
    await events.sendEvent(channel, 'note', { text: 'second' });
    await events.sendEvent(channel, 'note', { text: 'third' });
    const resumed = await SseStream.open(streamUrl, { 'Last-Event-ID': first.id });
    expect((await resumed.next()).event).toBe('stream-open');
    expect(await resumed.next()).toEqual({
      event: 'note',
      id: `${channel}:2`,
      data: '{"text":"second"}',
    });
    expect(await resumed.next()).toEqual({
      event: 'note',
      id: `${channel}:3`,
      data: '{"text":"third"}',
    });
    // And then live again: the next event on the wire is the next one sent.
    await events.sendEvent(channel, 'note', { text: 'fourth' });
    expect(await resumed.next()).toEqual({
      event: 'note',
      id: `${channel}:4`,
      data: '{"text":"fourth"}',
    });
    resumed.close();
  }, 60_000);

  it('gives the store from nestjs-eventstream/storage, under the token the module uses', async () => {
    // A second copy of the library loaded through the subpath would have a
    // token of its own, which the app does not know.
    const store = app.get<EventStore>(EVENT_STORE);
    expect(await store.headSeqs([channel])).toEqual(new Map([[channel, 4]]));
  });
});

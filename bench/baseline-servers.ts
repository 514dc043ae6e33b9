/**
 * What a Node or Nest user writes instead of the library, for the delivery
 * and memory groups: in memory, nothing stored, no replay. Both serve
 * `GET /sse?channel=NAME`, start each stream with a `stream-open` event (as
 * the library does, so the same client counts it open) and take events in
 * process, from the same schedule as the library's `sendEvent`.
 */
import { Controller, Module, Query, Sse, type MessageEvent } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createChannel, createSession, type Channel } from 'better-sse';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Observable, Subject, startWith } from 'rxjs';

export type BaselineKind = 'better-sse' | 'nest-sse';

export interface BaselineServer {
  readonly port: number;
  /** Sends one event to every stream of `channel`, at once. */
  publish(channel: string, type: string, id: string, data: object): void;
  readonly streams: () => number;
  close(): Promise<void>;
}

/** The library's keep-alive interval in the benchmark: every server pays the same timers. */
const KEEP_ALIVE_MS = 20_000;

/**
 * better-sse on `node:http`: a session per request, registered with a channel
 * per name; `broadcast` writes to each session.
 */
async function betterSse(port: number): Promise<BaselineServer> {
  const channels = new Map<string, Channel>();
  const channelOf = (name: string) => {
    let channel = channels.get(name);
    if (!channel) channels.set(name, (channel = createChannel()));
    return channel;
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname !== '/sse') {
      response.writeHead(404).end();
      return;
    }
    const name = url.searchParams.get('channel') ?? '';
    createSession(request, response, { keepAlive: KEEP_ALIVE_MS }).then(
      (session) => {
        session.push('', 'stream-open');
        channelOf(name).register(session);
      },
      () => response.destroy(),
    );
  });
  await listen(server, port);
  return {
    port: (server.address() as AddressInfo).port,
    publish: (channel, type, id, data) =>
      channels.get(channel)?.broadcast(data, type, { eventId: id }),
    streams: () => [...channels.values()].reduce((sum, c) => sum + c.sessionCount, 0),
    close: () => closeServer(server),
  };
}

/**
 * Nest's own `@Sse()` (on Express, Nest's default platform): the handler
 * returns an Observable of a `Subject` per channel.
 */
async function nestSse(port: number): Promise<BaselineServer> {
  const subjects = new Map<string, Subject<MessageEvent>>();
  let open = 0;
  const subjectOf = (name: string) => {
    let subject = subjects.get(name);
    if (!subject) subjects.set(name, (subject = new Subject()));
    return subject;
  };

  @Controller()
  class SseController {
    @Sse('sse')
    stream(@Query('channel') channel: string): Observable<MessageEvent> {
      return new Observable<MessageEvent>((subscriber) => {
        open++;
        const subscription = subjectOf(channel)
          .pipe(startWith({ type: 'stream-open', data: '' }))
          .subscribe(subscriber);
        return () => {
          open--;
          subscription.unsubscribe();
        };
      });
    }
  }

  @Module({ controllers: [SseController] })
  class SseModule {}

  const app = await NestFactory.create(SseModule, { logger: ['error'] });
  await app.listen(port, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return {
    port: (server.address() as AddressInfo).port,
    publish: (channel, type, id, data) => subjects.get(channel)?.next({ type, id, data }),
    streams: () => open,
    close: async () => {
      server.closeAllConnections();
      await app.close();
    },
  };
}

export function startBaseline(kind: BaselineKind, port = 0): Promise<BaselineServer> {
  return kind === 'better-sse' ? betterSse(port) : nestSse(port);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EventStreamModule,
  EventStreamService,
  type EventStreamModuleOptions,
} from '../../src/eventstream';
import { StreamHub } from '../../src/eventstream/direct/stream-hub';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

export interface HttpAppOptions {
  readonly platform?: Platform;
  readonly options: EventStreamModuleOptions;
  readonly path?: string | false;
  /** More of the app: controllers and providers of its own. */
  readonly metadata?: ModuleMetadata;
  /** Port to listen on; default: any free one. */
  readonly port?: number;
  /** Runs before listen, e.g. to add middleware. */
  readonly configure?: (app: INestApplication) => void;
}

/**
 * Middleware that counts requests to the `/events` route, by each channel
 * they name, into `counts`: to tell how often a client connected.
 */
export function countStreamRequests(counts: Map<string, number>) {
  return (request: { url?: string }, _response: unknown, next: () => void) => {
    const { pathname, searchParams } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname === '/events') {
      for (const channel of searchParams.getAll('channel')) {
        counts.set(channel, (counts.get(channel) ?? 0) + 1);
      }
    }
    next();
  };
}

export interface HttpApp {
  readonly app: INestApplication;
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  readonly events: EventStreamService;
  readonly hub: StreamHub;
  /** URL of the events route with the given query. */
  streamUrl(query: string): string;
  close(): Promise<void>;
}

/** A whole Nest HTTP application with the module, listening on a free loopback port. */
export async function startHttpApp(setup: HttpAppOptions): Promise<HttpApp> {
  const path = setup.path ?? 'events';
  const moduleRef = await Test.createTestingModule({
    ...setup.metadata,
    imports: [
      EventStreamModule.forRoot({
        migrate: true,
        retention: false,
        ...setup.options,
        path,
      }),
      ...(setup.metadata?.imports ?? []),
    ],
  }).compile();
  const app =
    setup.platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter())
      : moduleRef.createNestApplication({ logger: ['error'] });
  if (setup.platform === 'fastify') app.useLogger(['error']);
  setup.configure?.(app);
  try {
    await app.listen(setup.port ?? 0, '127.0.0.1');
  } catch (error) {
    // Its pool and change feed would otherwise outlive the suite.
    await app.close();
    throw error;
  }
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    baseUrl,
    events: app.get(EventStreamService),
    hub: app.get(StreamHub),
    streamUrl: (query) => `${baseUrl}/${path === false ? 'events' : path}?${query}`,
    close: () => app.close(),
  };
}

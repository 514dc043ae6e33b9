import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { assertCanRead } from '../auth/authorize';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import { assertValidChannel } from '../events/event-rules';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { EventStreamService } from '../eventstream.service';
import { applyCors } from '../http/cors';
import { writeFailure } from '../http/error-response';
import { nodeHttp } from '../http/node-http';
import { StreamSlots } from '../limits/stream-slots';
import type { EventStreamConfig } from '../options/eventstream-config';
import { assertResumable, parseEventPosition } from '../sse/event-position';
import { appStreamFailure } from './app-stream-failure';
import { AppStream, checkAppEvent, type PersistedPosition } from './app-stream';
import type { EventStreamRouteOptions } from './event-stream-route.options';
import { readLastEventId } from './last-event-id';
import { type PendingLimit, type PullSource, pullFrom } from './pull-source';

/**
 * How long the response waits for the method's first event before it starts
 * without one. Until the stream starts, a failure is answered with a real
 * status; after, with a `stream-error` event.
 */
export const FIRST_EVENT_WAIT_MS = 1000;

/**
 * How far an Observable may get ahead of its client, in characters of event
 * data (the most Nest's own `@Sse()` lets wait, too). Each event counts for
 * at least a few characters, so that empty ones cannot pile up without limit.
 */
export const PENDING_LIMIT: PendingLimit = {
  max: 4 * 1024 * 1024,
  weigh: (value) => MIN_EVENT_WEIGHT + dataLength(value),
};
const MIN_EVENT_WEIGHT = 16;

function dataLength(value: unknown): number {
  try {
    const data = (value as { data?: unknown } | null)?.data;
    return JSON.stringify(data)?.length ?? 0;
  } catch {
    return 0; // Refused when it is sent.
  }
}

/**
 * Serves the streams of {@link EventStreamRoute} methods, and ends them when
 * the application shuts down.
 */
@Injectable()
export class AppStreams implements BeforeApplicationShutdown {
  private readonly open = new Set<AppStream>();

  constructor(
    private readonly events: EventStreamService,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
    private readonly slots: StreamSlots,
  ) {}

  /** Number of open app streams on this instance. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Serves what the route's method produces. `events$` is the interceptor
   * chain's result: subscribing to it runs the method. `ended` is aborted
   * when the stream ends, however it ends.
   */
  async serve(
    request: object,
    response: object,
    events$: Observable<unknown>,
    options: EventStreamRouteOptions<never>,
    ended: AbortController,
  ): Promise<void> {
    const http = nodeHttp(request, response);
    let source: PullSource | undefined;
    let gone = false;
    const onGone = () => {
      gone = true;
      source?.stop();
      ended.abort();
    };
    http.response.once('close', onGone);
    try {
      applyCors(this.config.cors, http.request, http.response);
      // Before the method runs: a refused stream costs the app nothing.
      this.slots.take(request, http.response);
      const lastEventId = readLastEventId(http.request);
      const persisted = options.persist
        ? await this.persistedPosition(
            request,
            http.request.url ?? '/',
            options.persist.channel(request as never),
            lastEventId,
          )
        : undefined;
      if (gone) return;

      source = pullFrom(events$, PENDING_LIMIT);
      // Checked here too, so that an invalid first event is refused with a
      // status rather than after the stream started.
      const first = source.next().then((step) => {
        if (!step.done) checkAppEvent(step.value, this.config.limits, persisted !== undefined);
        return step;
      });
      // Rejections of the first step are handled below or by the stream;
      // this keeps one that comes after the wait from counting as unhandled.
      first.catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        first,
        new Promise((resolve) => (timer = setTimeout(resolve, FIRST_EVENT_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (gone) return;
      http.response.off('close', onGone);
      const stream = new AppStream(
        http.response,
        source,
        this.config,
        this.events,
        persisted,
        (stream) => {
          this.open.delete(stream);
          ended.abort();
        },
      );
      this.open.add(stream);
      if (http.response.destroyed) return stream.end('client');
      void stream.run(first);
    } catch (error) {
      http.response.off('close', onGone);
      source?.stop();
      ended.abort();
      if (!gone) writeFailure(http.request, http.response, appStreamFailure(error));
    }
  }

  // Before, not on, shutdown: the HTTP server only finishes closing once
  // every open stream has ended.
  beforeApplicationShutdown(): void {
    for (const stream of this.open) stream.end('shutdown');
  }

  private async persistedPosition(
    request: object,
    url: string,
    channel: string,
    lastEventId: string | undefined,
  ): Promise<PersistedPosition> {
    assertValidChannel(channel, this.config.limits);
    assertResumable(url, [channel]);
    const positions = parseEventPosition(lastEventId ?? '', [channel]);
    const user = this.config.resolveUser(request);
    await assertCanRead(this.authorizer, user, [channel], request);
    const seq = positions.get(channel);
    return seq === undefined
      ? { channel, seq: await this.events.getCurrentSeq(channel), replay: false }
      : { channel, seq, replay: true };
  }
}

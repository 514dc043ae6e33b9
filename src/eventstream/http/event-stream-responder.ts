import { Inject, Injectable } from '@nestjs/common';
import { assertCanRead } from '../auth/authorize';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import { initialFrames } from '../connect/initial-frames';
import {
  EVENTSTREAM_CONNECT_HOOK,
  type StreamConnectHook,
} from '../connect/stream-connect-hook.interface';
import { EVENT_DELIVERY, type EventDelivery } from '../delivery/event-delivery.interface';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { ProxyRequestRefusedError } from '../errors/eventstream.errors';
import { streamChannels } from '../events/event-rules';
import type { EventStreamConfig } from '../options/eventstream-config';
import { StreamSlots } from '../limits/stream-slots';
import { assertResumable, parseEventPosition } from '../sse/event-position';
import { answerPreflight, applyCors } from './cors';
import { writeErrorResponse } from './error-response';
import { EventsQueryDto } from './events-query.dto';
import { nodeHttp } from './node-http';

export interface ServeStreamOptions {
  /**
   * The channels to stream, decided by the route (e.g. `user-${user.id}`).
   * Default: the channels the client names in the query.
   */
  readonly channels?: readonly string[];
}

/**
 * Serves an SSE stream on a request: the built-in `/events` route uses it,
 * and so can an app's own controller, with channels of its choosing.
 *
 * @example
 * ```ts
 * @Get('me/events')
 * @UseGuards(AuthGuard('jwt'))
 * myEvents(@Req() req: Request & { user: User }, @Res() res: Response) {
 *   return this.responder.serve(req, res, { channels: [`user-${req.user.id}`] });
 * }
 * ```
 */
@Injectable()
export class EventStreamResponder {
  constructor(
    @Inject(EVENT_DELIVERY) private readonly delivery: EventDelivery,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
    @Inject(EVENTSTREAM_CONNECT_HOOK)
    private readonly connectHook: StreamConnectHook<unknown, unknown>,
    private readonly slots: StreamSlots,
  ) {}

  /**
   * Validates and authorizes the request, then streams: replay from the
   * client's Last-Event-ID, then live events. Failures before the stream
   * starts are answered with a 4xx or 503 and a JSON (or `stream-error`) body;
   * past `maxStreams` with 503, past `maxStreamsPerClient` with 429.
   */
  async serve(request: object, response: object, options: ServeStreamOptions = {}): Promise<void> {
    const http = nodeHttp(request, response);
    // Listen before the first await: a client that leaves during
    // authorization or replay must leave nothing behind.
    let gone = false;
    const onGone = () => (gone = true);
    http.response.once('close', onGone);
    try {
      applyCors(this.config.cors, http.request, http.response);
      const holder = await this.delivery.holderFor(http.request);
      const query = EventsQueryDto.fromUrl(http.request.url);
      if (query.link === 'next') {
        if (!holder.continue)
          throw new ProxyRequestRefusedError('Next links are for the GRIP proxy');
        const { token, lastEventId } = query;
        return await holder.continue({ http, request, token, lastEventId });
      }
      if (options.channels) query.channels = [...options.channels];
      query.validate();
      const { maxChannelsPerStream, limits } = this.config;
      const channels = streamChannels(query.channels, maxChannelsPerStream, limits);
      assertResumable(http.request.url ?? '/', channels);
      const header = http.request.headers['last-event-id'];
      const lastEventId = (typeof header === 'string' && header) || query.lastEventId || '';
      const positions = parseEventPosition(lastEventId, channels);
      // Before the first await of this stream's own work, so that requests
      // arriving together cannot pass the cap together. A stream the proxy
      // holds takes no slot of this instance's.
      if (holder.local) this.slots.take(request, http.response);

      const user = this.config.resolveUser(request);
      const expiresAt = await assertCanRead(this.authorizer, user, channels, request);
      if (gone) return;
      const initial = await initialFrames(
        this.connectHook,
        { user, channels, request, lastEventId: lastEventId || undefined },
        limits,
      );
      if (gone) return;
      await holder.open({
        http,
        request,
        channels,
        positions,
        user,
        expiresAt,
        initial,
        gone: () => gone,
      });
    } catch (error) {
      if (!gone) writeErrorResponse(http.request, http.response, error);
    } finally {
      http.response.off('close', onGone);
    }
  }

  /** Answers a CORS preflight for the stream route. */
  preflight(request: object, response: object): void {
    const http = nodeHttp(request, response);
    answerPreflight(this.config.cors, http.request, http.response);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { authorize } from '../auth/authorize';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import { StreamHub } from '../direct/stream-hub';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { ChannelAccessDeniedError, InvalidChannelError } from '../errors/eventstream.errors';
import { assertValidChannel } from '../events/event-rules';
import type { EventStreamConfig } from '../options/eventstream-config';
import { maxEventIdLength, parseEventPosition } from '../sse/event-position';
import { STREAM_OPEN } from '../sse/sse-frames';
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

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};

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
    private readonly hub: StreamHub,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
  ) {}

  /**
   * Validates and authorizes the request, then streams: replay from the
   * client's Last-Event-ID, then live events. Failures before the stream
   * starts are answered with a 4xx or 503 and a JSON (or `stream-error`) body.
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
      const query = EventsQueryDto.fromUrl(http.request.url);
      if (options.channels) query.channels = [...options.channels];
      query.validate();
      const channels = this.checkChannels(query.channels);
      const header = http.request.headers['last-event-id'];
      const lastEventId = (typeof header === 'string' && header) || query.lastEventId || '';
      const { stream, limits } = this.config;
      const positions = parseEventPosition(
        lastEventId,
        channels,
        maxEventIdLength(stream.maxChannels, limits.maxChannelLength),
      );

      const user = this.config.resolveUser(request);
      let expiresAt: Date | undefined;
      for (const channel of channels) {
        const decision = await authorize(this.authorizer, user, channel, request);
        if (gone) return;
        if (!decision.allowed) throw new ChannelAccessDeniedError(channel, user != null);
        if (decision.expiresAt && (!expiresAt || decision.expiresAt < expiresAt)) {
          expiresAt = decision.expiresAt;
        }
      }

      const { connection, heads } = await this.hub.open({
        channels,
        user,
        request,
        response: http.response,
      });
      http.response.off('close', onGone);
      http.response.once('close', () => connection.close('client'));
      if (gone || http.response.destroyed) return connection.close('client');
      this.startStream(http.response);
      if (expiresAt) connection.expireAt(expiresAt);
      connection.start(positions, heads);
    } catch (error) {
      http.response.off('close', onGone);
      if (!gone) writeErrorResponse(http.request, http.response, error);
    }
  }

  /** Answers a CORS preflight for the stream route. */
  preflight(request: object, response: object): void {
    const http = nodeHttp(request, response);
    answerPreflight(this.config.cors, http.request, http.response);
  }

  private checkChannels(requested: readonly string[]): string[] {
    const channels = [...new Set(requested)];
    const { maxChannels } = this.config.stream;
    if (channels.length > maxChannels) {
      throw new InvalidChannelError(channels, `a stream reads at most ${maxChannels} channels`);
    }
    channels.forEach((channel) => assertValidChannel(channel, this.config.limits));
    return channels;
  }

  private startStream(response: ServerResponse): void {
    response.writeHead(200, STREAM_HEADERS);
    response.flushHeaders();
    response.write(STREAM_OPEN);
    (response as ServerResponse & { flush?: () => void }).flush?.();
  }
}

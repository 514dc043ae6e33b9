import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize } from '../auth/authorize';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import { initialFrames } from '../connect/initial-frames';
import {
  EVENTSTREAM_CONNECT_HOOK,
  type StreamConnectHook,
} from '../connect/stream-connect-hook.interface';
import { StreamHub } from '../direct/stream-hub';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import {
  ChannelAccessDeniedError,
  InvalidChannelError,
  ProxyRequestRefusedError,
} from '../errors/eventstream.errors';
import { parseGripLast } from '../grip/grip-last';
import { pushpinChannelOf } from '../grip/grip-names';
import { GripResponder } from '../grip/grip-responder';
import { isProxied } from '../grip/grip-signature';
import { verifyNextLink } from '../grip/next-link-token';
import { assertValidChannel } from '../events/event-rules';
import type { EventStreamConfig } from '../options/eventstream-config';
import { StreamSlots } from '../limits/stream-slots';
import { EventStreamMetrics } from '../metrics/eventstream-metrics';
import { assertResumable, parseEventPosition } from '../sse/event-position';
import { DIRECT_STREAM_HEADERS, STREAM_OPEN } from '../sse/sse-frames';
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
    private readonly hub: StreamHub,
    private readonly grip: GripResponder,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
    @Inject(EVENTSTREAM_CONNECT_HOOK)
    private readonly connectHook: StreamConnectHook<unknown, unknown>,
    private readonly metrics: EventStreamMetrics,
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
      const grip = this.config.grip;
      const proxied = grip !== null && (await isProxied(http.request, grip.verifiers));
      if (grip && !proxied && grip.unsignedRequests === 'refuse') {
        throw new ProxyRequestRefusedError('Streams are served through the GRIP proxy only');
      }
      const query = EventsQueryDto.fromUrl(http.request.url);
      if (query.link === 'next') {
        if (!proxied) throw new ProxyRequestRefusedError('Next links are for the GRIP proxy');
        return await this.serveNextLink(request, http, query);
      }
      if (options.channels) query.channels = [...options.channels];
      query.validate();
      const channels = this.checkChannels(query.channels);
      assertResumable(http.request.url ?? '/', channels);
      const header = http.request.headers['last-event-id'];
      const lastEventId = (typeof header === 'string' && header) || query.lastEventId || '';
      const positions = parseEventPosition(lastEventId, channels);
      // Before the first await of this stream's own work, so that requests
      // arriving together cannot pass the cap together. A proxied stream is
      // held by the proxy, not by this instance: it takes no slot.
      if (!proxied) this.slots.take(request, http.response);

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

      const initial = await initialFrames(
        this.connectHook,
        { user, channels, request, lastEventId: lastEventId || undefined },
        this.config.limits,
      );
      if (gone) return;
      if (proxied) {
        http.response.off('close', onGone);
        return await this.grip.reply({
          request: http.request,
          response: http.response,
          channels,
          positions,
          userId: this.config.identifyUser(user),
          continuation: false,
          initial,
        });
      }

      const { connection, heads } = await this.hub.open({
        channels,
        user,
        request,
        response: http.response,
      });
      http.response.off('close', onGone);
      // `on`, not `once`: 'close' comes once, and `once` would hold a wrapper
      // for the stream's whole life.
      http.response.on('close', () => connection.close('client'));
      if (gone || http.response.destroyed) return connection.close('client');
      this.metrics.recordReplay('direct', backlog(positions, heads));
      this.startStream(http.response, initial);
      if (expiresAt) connection.expireAt(expiresAt);
      connection.start(positions, heads);
    } catch (error) {
      http.response.off('close', onGone);
      if (!gone) writeErrorResponse(http.request, http.response, error);
    }
  }

  /**
   * The proxy calls the next link to page through a long replay, and to
   * recover after a gap. It carries no cookies: who the stream is for comes
   * from the link's signed token, and the authorizer is asked again.
   */
  private async serveNextLink(
    request: object,
    http: { request: IncomingMessage; response: ServerResponse },
    query: EventsQueryDto,
  ): Promise<void> {
    const grip = this.config.grip;
    const claims = grip && (await verifyNextLink(query.token ?? '', grip.linkSecret));
    if (!claims) throw new ProxyRequestRefusedError('This next link is invalid or has expired');
    const channels = this.checkChannels(claims.channels);
    const user =
      claims.userId === undefined ? undefined : await this.config.loadUser(claims.userId);
    for (const channel of channels) {
      const decision = await authorize(this.authorizer, user, channel, request);
      if (!decision.allowed) throw new ChannelAccessDeniedError(channel, user != null);
    }
    const gripLast = parseGripLast(http.request.headers['grip-last'] as string | undefined);
    const positions = new Map<string, number>();
    if (gripLast.size > 0) {
      for (const channel of channels) {
        const seq = gripLast.get(pushpinChannelOf(channel, channels));
        if (seq !== undefined) positions.set(channel, seq);
      }
    } else {
      const parsed = parseEventPosition(query.lastEventId ?? '', channels);
      parsed.forEach((seq, channel) => positions.set(channel, seq));
    }
    await this.grip.reply({
      request: http.request,
      response: http.response,
      channels,
      positions,
      userId: claims.userId,
      continuation: true,
    });
  }

  /** Answers a CORS preflight for the stream route. */
  preflight(request: object, response: object): void {
    const http = nodeHttp(request, response);
    answerPreflight(this.config.cors, http.request, http.response);
  }

  private checkChannels(requested: readonly string[]): string[] {
    const channels = [...new Set(requested)];
    const { maxChannelsPerStream: maxChannels } = this.config;
    if (channels.length > maxChannels) {
      throw new InvalidChannelError(channels, `a stream reads at most ${maxChannels} channels`);
    }
    channels.forEach((channel) => assertValidChannel(channel, this.config.limits));
    return channels;
  }

  private startStream(response: ServerResponse, initial: string): void {
    response.writeHead(200, DIRECT_STREAM_HEADERS);
    response.flushHeaders();
    response.write(STREAM_OPEN + initial);
    (response as ServerResponse & { flush?: () => void }).flush?.();
  }
}

/** Events the client is behind on the channels it resumes. */
function backlog(positions: ReadonlyMap<string, number>, heads: ReadonlyMap<string, number>) {
  let behind = 0;
  positions.forEach((seq, channel) => (behind += Math.max(0, (heads.get(channel) ?? 0) - seq)));
  return behind;
}

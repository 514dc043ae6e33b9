import { Inject, Injectable } from '@nestjs/common';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { EventStreamService } from '../eventstream.service';
import type { EventStreamConfig } from '../options/eventstream-config';
import { serveChannelRead } from './channel-read';
import { answerPreflight } from './cors';
import { nodeHttp } from './node-http';
import { PresenceQueryDto } from './presence-query.dto';

/**
 * Serves who is on a channel, `GET /<path>/presence?channel=NAME`, as
 * `{ channel, streams, users }`; the authorizer decides who may ask, as for
 * the channel's stream and history.
 */
@Injectable()
export class EventPresenceResponder {
  constructor(
    private readonly events: EventStreamService,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
  ) {}

  serve(request: object, response: object): Promise<void> {
    const { config, authorizer } = this;
    return serveChannelRead(
      { config, authorizer },
      request,
      response,
      (url) => PresenceQueryDto.fromUrl(url).parse(),
      ({ channel }) => this.events.getPresence(channel),
    );
  }

  /** Answers a CORS preflight for the presence route. */
  preflight(request: object, response: object): void {
    const http = nodeHttp(request, response);
    answerPreflight(this.config.cors, http.request, http.response);
  }
}

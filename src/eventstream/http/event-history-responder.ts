import { Inject, Injectable } from '@nestjs/common';
import {
  type ChannelAuthorizer,
  EVENTSTREAM_AUTHORIZER,
} from '../auth/channel-authorizer.interface';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import {
  EventStreamService,
  type EventRecord,
  type LatestEventsPage,
} from '../eventstream.service';
import { formatEventId } from '../events/event-id';
import type { EventStreamConfig } from '../options/eventstream-config';
import { serveChannelRead } from './channel-read';
import { answerPreflight } from './cors';
import { type HistoryQuery, HistoryQueryDto } from './history-query.dto';
import { nodeHttp } from './node-http';

/** The JSON body of a history page. */
export interface HistoryPageBody {
  readonly channel: string;
  readonly events: readonly Omit<EventRecord, 'channel'>[];
  /** Open the stream from here (`?lastEventId=` or the `Last-Event-ID` header) to miss nothing. */
  readonly lastEventId: string;
  readonly headSeq: number;
  /** Whether events newer than this page existed when it was read. */
  readonly hasMore: boolean;
  /** Whether events older than this page are kept. */
  readonly hasOlder: boolean;
}

export interface ServeHistoryOptions {
  /** The channel, decided by the route. Default: `?channel=` of the query. */
  readonly channel?: string;
}

/**
 * Serves a channel's history as JSON pages: by default the newest events,
 * `?before=SEQ` to page back, `?after=SEQ` to read on. The same authorizer
 * as the stream decides who may read it.
 */
@Injectable()
export class EventHistoryResponder {
  constructor(
    private readonly events: EventStreamService,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    @Inject(EVENTSTREAM_AUTHORIZER)
    private readonly authorizer: ChannelAuthorizer<unknown, unknown>,
  ) {}

  serve(request: object, response: object, options: ServeHistoryOptions = {}): Promise<void> {
    const parse = (url: string | undefined) => {
      const query = HistoryQueryDto.fromUrl(url);
      if (options.channel !== undefined) query.channel = options.channel;
      return query.parse();
    };
    const { config, authorizer } = this;
    return serveChannelRead({ config, authorizer }, request, response, parse, (query) =>
      this.read(query),
    );
  }

  private async read({ channel, after, before, limit }: HistoryQuery): Promise<HistoryPageBody> {
    const page =
      after === undefined
        ? await this.events.getLatestEvents(channel, { before, limit })
        : await this.readOn(channel, after, limit);
    return {
      channel,
      events: page.events.map(({ id, seq, type, data, createdAt }) => ({
        id,
        seq,
        type,
        data,
        createdAt,
      })),
      lastEventId: formatEventId(channel, page.cursor),
      headSeq: page.headSeq,
      hasMore: page.hasMore,
      hasOlder: page.hasOlder,
    };
  }

  private async readOn(channel: string, after: number, limit: number): Promise<LatestEventsPage> {
    const page = await this.events.getEvents(channel, { after, limit });
    const first = page.events[0]?.seq ?? after + 1;
    const older = await this.events.getLatestEvents(channel, { before: first, limit: 1 });
    return { ...page, hasOlder: older.events.length > 0 };
  }

  /** Answers a CORS preflight for the history route. */
  preflight(request: object, response: object): void {
    const http = nodeHttp(request, response);
    answerPreflight(this.config.cors, http.request, http.response);
  }
}

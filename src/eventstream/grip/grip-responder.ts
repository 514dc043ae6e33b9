import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EVENTSTREAM_CONFIG } from '../eventstream.constants';
import { formatCompositeEventId } from '../events/event-id';
import type { EventStreamConfig } from '../options/eventstream-config';
import {
  KEEP_ALIVE,
  STREAM_HEADERS,
  STREAM_OPEN,
  encodeFrame,
  streamResetFrame,
} from '../sse/sse-frames';
import { EventStreamMetrics } from '../metrics/eventstream-metrics';
import { EVENT_STORE, type EventStore } from '../storage/event-store.interface';
import {
  escapePercent,
  holdsCompositeNames,
  pushpinChannelOf,
  pushpinCompositeChannel,
  pushpinLinkChannel,
  pushpinUserChannel,
} from './grip-names';
import { signNextLink } from './next-link-token';

// Pushpin refuses a GRIP response over 100 000 bytes; pages stay well under.
const PAGE_BYTES = 64 * 1024;
/** The direct mode's keep-alive, byte for byte, as `Grip-Keep-Alive` carries it. */
export const GRIP_KEEP_ALIVE = toCString(KEEP_ALIVE);

export interface GripReplyRequest {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly channels: readonly string[];
  readonly positions: ReadonlyMap<string, number>;
  readonly userId: string | undefined;
  /** A call of our own next link: no `stream-open` (or initial events) again. */
  readonly continuation: boolean;
  /** Frames of the connect hook's initial events, for the first reply. */
  readonly initial?: string;
}

/**
 * Answers a request that came through the GRIP proxy: the events the client
 * missed in the body (a page of at most 64 KiB), then instructions that hand
 * the stream to the proxy. Every reply of a stream carries the same channel
 * filters and meta, as Pushpin 1.36 filters a next-link body with the
 * previous reply's filters.
 */
@Injectable()
export class GripResponder {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENTSTREAM_CONFIG) private readonly config: EventStreamConfig,
    private readonly metrics: EventStreamMetrics,
  ) {}

  async reply(request: GripReplyRequest): Promise<void> {
    const { channels } = request;
    // Only channels without a position need their head read here; for the
    // others (every channel of a recovery call) the first read tells it.
    // With read replicas, every channel's head is read from the primary, so
    // that a replica may answer the pages once it has reached it: the
    // position a recovery call brings (Grip-Last) is the client's, not the
    // head, and a replica that had only reached it would answer with nothing.
    const unread = this.config.replicas.length > 0 ? channels : unplaced(channels, request);
    const heads = unread.length > 0 ? await this.store.headSeqs(unread) : new Map<string, number>();
    const cursors = new Map(
      channels.map((c) => [c, request.positions.get(c) ?? heads.get(c) ?? 0]),
    );
    // A stream of several channels holds them with the build-id filter,
    // which Pushpin runs every reply body through, not only published
    // items: each `%` in it must reach the client as itself.
    const escape = holdsCompositeNames(channels) ? escapePercent : (text: string) => text;
    let body = request.continuation ? '' : escape(STREAM_OPEN + (request.initial ?? ''));
    let bytes = Buffer.byteLength(body);
    let complete = true;
    let replayed = 0;

    pages: for (const channel of channels) {
      let head: number | undefined = heads.get(channel);
      while (head === undefined || (cursors.get(channel) ?? 0) !== head) {
        const after = cursors.get(channel) ?? 0;
        const result = await this.store.read(
          channel,
          after,
          this.config.replayPageSize,
          // At least one event, which the loop below keeps or leaves for the next page.
          Math.max(PAGE_BYTES - bytes, 1),
          head,
        );
        if (result.status !== 'events') {
          cursors.set(channel, result.headSeq);
          head = result.headSeq;
          const reset = escape(streamResetFrame([channel], formatCompositeEventId(cursors)));
          body += reset;
          bytes += Buffer.byteLength(reset);
          continue;
        }
        head = Math.max(head ?? 0, result.headSeq);
        if (result.events.length === 0) break;
        for (const event of result.events) {
          cursors.set(channel, event.seq);
          const frame = escape(
            encodeFrame({
              event: event.type,
              id: formatCompositeEventId(cursors),
              data: event.json,
            }),
          );
          const size = Buffer.byteLength(frame);
          if (bytes + size > PAGE_BYTES && bytes > 0) {
            cursors.set(channel, event.seq - 1);
            complete = false;
            break pages;
          }
          body += frame;
          bytes += size;
          replayed++;
        }
      }
    }

    const position = formatCompositeEventId(cursors);
    const link = await this.nextLink(request, position, complete);
    const meta = this.meta(channels, request.userId);
    const headers: Record<string, string> = {
      ...STREAM_HEADERS,
      'Grip-Channel': this.gripChannels(channels, cursors, request.userId),
      ...(meta ? { 'Grip-Set-Meta': meta } : {}),
      // `mode=interval`: a keep-alive every `timeout` seconds, also on busy
      // streams. In its default (idle) mode Pushpin restarts each stream's
      // keep-alive timer on every delivery, which at 1,000 streams x 20
      // events/s often doubled the p99 latency through it
      // (bench/experiments/grip-variants.ts).
      'Grip-Keep-Alive': `${GRIP_KEEP_ALIVE}; format=cstring; timeout=${Math.ceil(
        this.config.keepAliveMs / 1000,
      )}; mode=interval`,
      'Grip-Link': `<${link}>; rel=next`,
    };
    if (complete) headers['Grip-Hold'] = 'stream';
    if (!request.continuation) this.metrics.recordReplay('grip', replayed);
    request.response.writeHead(200, headers);
    request.response.end(body);
  }

  private gripChannels(
    channels: readonly string[],
    cursors: ReadonlyMap<string, number>,
    userId: string | undefined,
  ): string {
    const filter = holdsCompositeNames(channels) ? '; filter=build-id' : '';
    const parts = channels.map(
      (c) => `${pushpinChannelOf(c, channels)}; prev-id=${cursors.get(c) ?? 0}${filter}`,
    );
    if (userId !== undefined) {
      parts.push(`${pushpinUserChannel(userId)}; filter=require-sub`);
      // Last: should Pushpin's connection_subscription_max cut the list,
      // this is the one to lose.
      parts.push(`${pushpinLinkChannel(userId, channels)}; prev-id=0`);
    }
    return parts.join(', ');
  }

  /**
   * `id_format` tells the build-id filter how to write each connection's
   * composite id (streams of several channels); empty when there is no meta.
   */
  private meta(channels: readonly string[], userId: string | undefined): string {
    const parts: string[] = [];
    if (holdsCompositeNames(channels)) {
      const format = channels
        .map((c) => `${escapePercent(encodeURIComponent(c))}:%(${pushpinCompositeChannel(c)})s`)
        .join(',');
      parts.push(`id_format="${format}"`);
    }
    if (userId !== undefined) parts.push(`user="${Buffer.from(userId).toString('base64url')}"`);
    return parts.join(', ');
  }

  private async nextLink(
    request: GripReplyRequest,
    position: string,
    complete: boolean,
  ): Promise<string> {
    const grip = this.config.grip;
    const path = grip?.publicPath ?? new URL(request.request.url ?? '/', 'http://x').pathname;
    const token = await signNextLink(
      { channels: request.channels, userId: request.userId },
      grip?.linkSecret ?? new Uint8Array(),
    );
    const query = new URLSearchParams({ link: 'next', 'es-meta': token });
    // More pages to come: continue from here. Complete: a recovery link,
    // whose caller says where it stands in Grip-Last.
    if (complete) query.set('recover', 'true');
    else query.set('lastEventId', position);
    return `${path}?${query.toString()}`;
  }
}

function unplaced(channels: readonly string[], request: GripReplyRequest): readonly string[] {
  return channels.filter((c) => !request.positions.has(c));
}

/** Pushpin's cstring format: C escapes for backslash, carriage return and line feed. */
function toCString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

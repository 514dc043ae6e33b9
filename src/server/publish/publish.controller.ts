import {
  BadRequestException,
  Controller,
  HttpCode,
  Post,
  Req,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import type { IncomingMessage } from 'node:http';
import { EventStreamService, type EventRecord } from '../../eventstream';
import { readJsonBody } from '../json-body/read-json-body';
import { EventStreamErrorFilter } from './eventstream-error.filter';
import { idempotencyKeyOf } from './idempotency-key-header';
import { PublishBatchDto, PublishEventDto } from './publish-event.dto';
import { PublishKeyGuard } from './publish-key.guard';

interface PublishResponse {
  readonly ids: string[];
}

/**
 * `POST /publish`: lets apps that are not Nest send events over HTTP, like
 * tornado-sse's standalone server. Answers 201 once the events are stored.
 * With an `Idempotency-Key` header, a retry with the same body answers the
 * same 201 and ids and stores nothing (the library's idempotency keys).
 */
export function createPublishController(publishKey: string): Type<unknown> {
  const guard = new PublishKeyGuard(publishKey);

  @Controller('publish')
  @UseGuards(guard)
  @UseFilters(EventStreamErrorFilter)
  class PublishController {
    constructor(private readonly events: EventStreamService) {}

    @Post()
    @HttpCode(201)
    async publish(@Req() request: IncomingMessage): Promise<PublishResponse> {
      const idempotencyKey = idempotencyKeyOf(request);
      // Read here, after the guard: a request without the key is answered
      // before a byte of its body is read.
      const body = await readJsonBody(request);
      const options = { idempotencyKey };
      const isBatch = typeof body === 'object' && body !== null && 'events' in body;
      let records: EventRecord[];
      if (isBatch) {
        const { events } = validated(PublishBatchDto, body);
        const sent = (body as { events: { data: unknown }[] }).events;
        records = await this.events.sendEvents(
          events.map((event, i) => ({
            channel: event.channel,
            type: event.type,
            data: sent[i].data,
          })),
          options,
        );
      } else {
        const event = validated(PublishEventDto, body);
        const { data } = body as { data: unknown };
        records = [await this.events.sendEvent(event.channel, event.type, data, options)];
      }
      return { ids: records.map((record) => record.id) };
    }
  }
  return PublishController;
}

/** Validates a body against a DTO, reporting every problem at once as Nest's ValidationPipe does. */
function validated<T extends object>(type: new () => T, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException(['the body must be a JSON object']);
  }
  const instance = plainToInstance(type, withoutData(body));
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new BadRequestException(messages(errors));
  return instance;
}

function messages(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}).map((message) =>
      prefix ? `${prefix}${message}` : message,
    ),
    ...messages(error.children ?? [], `${prefix}${error.property}.`),
  ]);
}

/**
 * The body with each event's data as `null`, which keeps only whether it was
 * given. Data is the sender's JSON and is sent on untouched, never through
 * class-transformer, whose copy turns a `__proto__` key into a prototype.
 */
function withoutData(body: object): object {
  const strip = (event: unknown) =>
    typeof event === 'object' && event !== null && !Array.isArray(event) && 'data' in event
      ? { ...event, data: null }
      : event;
  const { events } = body as { events?: unknown };
  return Array.isArray(events) ? { ...body, events: events.map(strip) } : (strip(body) as object);
}

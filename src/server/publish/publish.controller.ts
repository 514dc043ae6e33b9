import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Post,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { EventStreamService, type EventRecord } from '../../eventstream';
import { EventStreamErrorFilter } from './eventstream-error.filter';
import { PublishBatchDto, PublishEventDto } from './publish-event.dto';
import { PublishKeyGuard } from './publish-key.guard';

interface PublishResponse {
  readonly ids: string[];
}

/**
 * `POST /publish`: lets apps that are not Nest send events over HTTP, like
 * tornado-sse's standalone server. Answers 201 once the events are stored.
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
    async publish(@Body() body: unknown): Promise<PublishResponse> {
      const isBatch = typeof body === 'object' && body !== null && 'events' in body;
      const records: EventRecord[] = isBatch
        ? await this.events.sendEvents(validated(PublishBatchDto, body).events)
        : [await this.events.sendEvent(...eventArgs(validated(PublishEventDto, body)))];
      return { ids: records.map((record) => record.id) };
    }
  }
  return PublishController;
}

function eventArgs(event: PublishEventDto): [string, string, unknown] {
  return [event.channel, event.type, event.data];
}

/** Validates a body against a DTO, reporting every problem at once as Nest's ValidationPipe does. */
function validated<T extends object>(type: new () => T, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException(['the body must be a JSON object']);
  }
  const instance = plainToInstance(type, body);
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

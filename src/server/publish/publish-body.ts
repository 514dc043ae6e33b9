import { BadRequestException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import type { EventInput } from '../../eventstream';
import { MAX_EVENTS_PER_PUBLISH, PublishBatchDto, PublishEventDto } from './publish-event.dto';

/**
 * The events of a parsed publish body, one or a batch, each with its data
 * exactly as sent; a body of the wrong shape is a 400 listing every problem,
 * as Nest's ValidationPipe reports them.
 */
export function eventsOf(body: unknown): EventInput[] {
  return plainEvents(body) ?? checkedEvents(body);
}

/**
 * The events of a body that the DTOs accept as it is, found without them:
 * exactly `channel` and `type` as strings and `data`, alone or in `events`
 * (1 to {@link MAX_EVENTS_PER_PUBLISH}). Most bodies are; they skip
 * class-transformer's copy and class-validator's walk, which cost a publish
 * more than all its other work in Node. Anything else (`undefined`) goes
 * through the DTOs, so what a refusal says is still theirs alone.
 */
export function plainEvents(body: unknown): EventInput[] | undefined {
  if (isPlainEvent(body)) return [{ channel: body.channel, type: body.type, data: body.data }];
  if (!isObject(body) || !hasOnly(body, BATCH_KEYS)) return undefined;
  const { events } = body as { events: unknown };
  if (!Array.isArray(events) || events.length < 1 || events.length > MAX_EVENTS_PER_PUBLISH) {
    return undefined;
  }
  const plain: EventInput[] = [];
  for (const event of events as unknown[]) {
    if (!isPlainEvent(event)) return undefined;
    plain.push({ channel: event.channel, type: event.type, data: event.data });
  }
  return plain;
}

const EVENT_KEYS = ['channel', 'type', 'data'];
const BATCH_KEYS = ['events'];

function isPlainEvent(value: unknown): value is { channel: string; type: string; data: unknown } {
  if (!isObject(value) || !hasOnly(value, EVENT_KEYS)) return false;
  const { channel, type } = value as { channel: unknown; type: unknown };
  return typeof channel === 'string' && typeof type === 'string';
}

const isObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether `value` has exactly these own keys, in any order. */
function hasOnly(value: object, keys: readonly string[]): boolean {
  return (
    Object.keys(value).length === keys.length && keys.every((key) => Object.hasOwn(value, key))
  );
}

/** The events of a body checked against the DTOs. */
export function checkedEvents(body: unknown): EventInput[] {
  // A body with an `events` property is read as a batch.
  if (typeof body === 'object' && body !== null && 'events' in body) {
    const { events } = validated(PublishBatchDto, body);
    const sent = (body as { events: { data: unknown }[] }).events;
    return events.map((event, i) => ({
      channel: event.channel,
      type: event.type,
      data: sent[i].data,
    }));
  }
  const event = validated(PublishEventDto, body);
  const { data } = body as { data: unknown };
  return [{ channel: event.channel, type: event.type, data }];
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

import {
  ArrayNotEmpty,
  IsArray,
  IsOptional,
  IsString,
  MaxLength,
  validateSync,
} from 'class-validator';
import { InvalidChannelError, InvalidPositionError } from '../errors/eventstream.errors';
import { MAX_LAST_EVENT_ID_LENGTH } from '../sse/event-position';

const NO_CHANNEL = 'give at least one channel: ?channel=NAME (repeatable) or ?channels=A,B';

/** The query of a stream request, as the client sent it. */
export class EventsQueryDto {
  @IsArray()
  @ArrayNotEmpty({ message: NO_CHANNEL })
  @IsString({ each: true })
  channels: string[] = [];

  @IsOptional()
  @IsString()
  @MaxLength(MAX_LAST_EVENT_ID_LENGTH, {
    message: `lastEventId is at most ${MAX_LAST_EVENT_ID_LENGTH} characters`,
  })
  lastEventId?: string;

  /** `next` on the links this library gives a GRIP proxy. */
  link?: string;

  /** The signed identity a next link carries. */
  token?: string;

  /**
   * Reads `?channel=a&channel=b`, `?channels=a,b` (both may be combined) and
   * `?lastEventId=` (the last non-empty one wins) from a request URL.
   */
  static fromUrl(url: string | undefined): EventsQueryDto {
    const params = new URL(url ?? '/', 'http://localhost').searchParams;
    const query = new EventsQueryDto();
    query.channels = [
      ...params.getAll('channel'),
      ...params.getAll('channels').flatMap((list) => list.split(',')),
    ];
    query.lastEventId = params.getAll('lastEventId').filter(Boolean).at(-1);
    query.link = params.get('link') ?? undefined;
    query.token = params.get('es-meta') ?? undefined;
    return query;
  }

  /** @throws InvalidChannelError or InvalidPositionError with every problem found. */
  validate(): void {
    const [problem] = validateSync(this);
    if (!problem) return;
    const message = Object.values(problem.constraints ?? {}).join('; ');
    if (problem.property === 'lastEventId')
      throw new InvalidPositionError(this.lastEventId, message);
    throw new InvalidChannelError(this.channels, message);
  }
}

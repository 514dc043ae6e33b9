import {
  ArrayMaxSize,
  IsOptional,
  IsString,
  Matches,
  type ValidationArguments,
} from 'class-validator';
import { InvalidQueryError } from '../errors/eventstream.errors';
import { assertValidChannelQuery, listed } from './query-problems';

const SEQ = /^[0-9]{1,15}$/;
const LIMIT = /^[0-9]{1,4}$/;
export const MAX_HISTORY_LIMIT = 1000;

/** A history query, parsed. */
export interface HistoryQuery {
  readonly channel: string;
  readonly after?: number;
  readonly before?: number;
  readonly limit: number;
}

/** The query of a history request: `?channel=NAME[&after=SEQ|&before=SEQ][&limit=N]`. */
export class HistoryQueryDto {
  @IsString({ message: 'give one channel: ?channel=NAME' })
  channel?: string;

  @IsOptional()
  @Matches(SEQ, { message: 'after must be a seq: a whole number of at most 15 digits' })
  after?: string;

  @IsOptional()
  @Matches(SEQ, { message: 'before must be a seq: a whole number of at most 15 digits' })
  before?: string;

  @IsOptional()
  @Matches(LIMIT, { message: `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}` })
  limit?: string;

  /** Names of parameters given more than once; none may be. */
  @ArrayMaxSize(0, {
    message: (args: ValidationArguments) =>
      `give each parameter at most once (repeated: ${listed(args)})`,
  })
  repeated: string[] = [];

  static fromUrl(url: string | undefined): HistoryQueryDto {
    const params = new URL(url ?? '/', 'http://localhost').searchParams;
    const query = new HistoryQueryDto();
    const names = [...params.keys()];
    query.repeated = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
    query.channel = params.get('channel') ?? undefined;
    query.after = params.get('after') ?? undefined;
    query.before = params.get('before') ?? undefined;
    query.limit = params.get('limit') ?? undefined;
    return query;
  }

  /** The query as numbers; throws InvalidChannelError or InvalidQueryError. */
  parse(): HistoryQuery {
    assertValidChannelQuery(this);
    if (this.after !== undefined && this.before !== undefined) {
      throw new InvalidQueryError('give after (to read on) or before (to read back), not both');
    }
    const limit = this.limit === undefined ? 100 : Number(this.limit);
    if (limit < 1 || limit > MAX_HISTORY_LIMIT) {
      throw new InvalidQueryError(`limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`);
    }
    const before = this.before === undefined ? undefined : Number(this.before);
    if (before === 0) throw new InvalidQueryError('before must be at least 1');
    return {
      channel: this.channel as string,
      after: this.after === undefined ? undefined : Number(this.after),
      before,
      limit,
    };
  }
}

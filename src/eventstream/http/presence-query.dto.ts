import { ArrayMaxSize, IsString, type ValidationArguments } from 'class-validator';
import { assertValidChannelQuery, listed } from './query-problems';

/** The query of a presence request: `?channel=NAME`, and nothing else. */
export class PresenceQueryDto {
  @IsString({ message: 'give one channel: ?channel=NAME' })
  channel?: string;

  /** Names of parameters given more than once; none may be. */
  @ArrayMaxSize(0, {
    message: (args: ValidationArguments) =>
      `give each parameter at most once (repeated: ${listed(args)})`,
  })
  repeated: string[] = [];

  /** Names of parameters the route does not take. */
  @ArrayMaxSize(0, {
    message: (args: ValidationArguments) =>
      `unknown parameter: ${listed(args)} (give channel only)`,
  })
  unknown: string[] = [];

  static fromUrl(url: string | undefined): PresenceQueryDto {
    const params = new URL(url ?? '/', 'http://localhost').searchParams;
    const query = new PresenceQueryDto();
    const names = [...params.keys()];
    query.repeated = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
    query.unknown = [...new Set(names.filter((name) => name !== 'channel'))];
    query.channel = params.get('channel') ?? undefined;
    return query;
  }

  /** The channel asked for; throws InvalidChannelError or InvalidQueryError. */
  parse(): { readonly channel: string } {
    assertValidChannelQuery(this);
    return { channel: this.channel as string };
  }
}

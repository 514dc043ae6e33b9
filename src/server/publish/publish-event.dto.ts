import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsString,
  ValidateBy,
  ValidateNested,
} from 'class-validator';

export const MAX_EVENTS_PER_PUBLISH = 1000;

/** One event in a publish request. Channel and type rules are the library's own. */
export class PublishEventDto {
  @IsString()
  channel!: string;

  @IsString()
  type!: string;

  @ValidateBy({
    name: 'isPresent',
    validator: {
      validate: (value: unknown) => value !== undefined,
      defaultMessage: () => 'data is required (null is fine)',
    },
  })
  data!: unknown;
}

/** Several events, stored in one transaction. */
export class PublishBatchDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EVENTS_PER_PUBLISH)
  @ValidateNested({ each: true })
  @Type(() => PublishEventDto)
  events!: PublishEventDto[];
}

import {
  BadRequestException,
  Injectable,
  type PipeTransform,
} from '@nestjs/common';
import { NAME_PATTERN } from '../auth/chat-user.js';

/** A room name from the URL, checked before it becomes part of a channel name. */
@Injectable()
export class RoomNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!NAME_PATTERN.test(value)) {
      throw new BadRequestException(
        'A room name is 1 to 32 of a-z, 0-9, _ and -',
      );
    }
    return value;
  }
}

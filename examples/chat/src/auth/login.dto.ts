import { Matches } from 'class-validator';
import { NAME_PATTERN } from './chat-user.js';

export class LoginDto {
  // Lower-case only, so that a name is its own id: no two ways to spell one user.
  @Matches(NAME_PATTERN, {
    message: 'name must be 1 to 32 of a-z, 0-9, _ and -',
  })
  name!: string;
}

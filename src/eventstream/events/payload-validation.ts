import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { InvalidEventDataError } from '../errors/eventstream.errors';

/**
 * Checks data against the class-validator class registered for its event
 * type, if any. Unknown properties are refused, so what is stored is what
 * the class describes.
 */
export function assertValidPayload(
  type: string,
  data: unknown,
  payloadClass: Type<object> | undefined,
): void {
  if (!payloadClass) return;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidEventDataError(
      `data of "${type}" events must be an object matching ${payloadClass.name}`,
    );
  }
  const errors = validateSync(plainToInstance(payloadClass, data), {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    throw new InvalidEventDataError(
      `data of "${type}" events does not match ${payloadClass.name}: ${problems(errors).join('; ')}`,
    );
  }
}

function problems(errors: readonly ValidationError[], path = ''): string[] {
  return errors.flatMap((error) => {
    const at = `${path}${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      // class-validator's messages start with the property name already.
      message.startsWith(error.property) ? `${path}${message}` : `${at}: ${message}`,
    );
    return [...own, ...problems(error.children ?? [], `${at}.`)];
  });
}

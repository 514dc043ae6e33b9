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
  // class-transformer's copy drops these keys, so the class would never see
  // what is stored as given.
  const hidden = hiddenKey(data);
  if (hidden !== undefined) {
    throw new InvalidEventDataError(
      `data of "${type}" events does not match ${payloadClass.name}: property ${hidden} should not exist`,
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

const HIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The path of an own `__proto__`, `constructor` or `prototype` key anywhere in `data`. */
function hiddenKey(data: object): string | undefined {
  const stack: [unknown, string][] = [[data, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (HIDDEN_KEYS.has(key)) return at;
      stack.push([(value as Record<string, unknown>)[key], at]);
    }
  }
  return undefined;
}

import 'reflect-metadata';
import {
  IsInt,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  type ValidationArguments,
  type ValidationError,
  validateSync,
} from 'class-validator';

/**
 * The rules options are declared with, and the two steps every group of
 * options goes through: filled in with the defaults its class declares, then
 * checked against its rules, each problem named by the option's path.
 */

export const shown = (args: ValidationArguments) => String(args.value);

export const isFunction = (value: unknown): value is (...args: never[]) => unknown =>
  typeof value === 'function';

export const isPlainObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function applyAll(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => decorators.forEach((decorate) => decorate(target, key));
}

/** An integer from `min` to `max`. */
export function IntRange(max = Number.MAX_SAFE_INTEGER, min = 1): PropertyDecorator {
  return applyAll(
    IsInt({ message: (args) => `${args.property} must be an integer, got ${shown(args)}` }),
    Min(min, {
      message: (args) => `${args.property} must be at least ${min}, got ${shown(args)}`,
    }),
    Max(max, { message: (args) => `${args.property} must be at most ${max}, got ${shown(args)}` }),
  );
}

/** Like `@IsOptional()`, but only `undefined` means "not given": null is a mistake. */
export const Optional = () => ValidateIf((_: object, value: unknown) => value !== undefined);

/** Not given, or `null` for "no limit". */
export const OptionalOrNull = () =>
  ValidateIf((_: object, value: unknown) => value !== null && value !== undefined);

/** Passes `validate`, or is refused with `message` (which names the option). */
export function Satisfies(
  name: string,
  validate: (value: unknown) => boolean,
  message: string,
): PropertyDecorator {
  return ValidateBy({ name, validator: { validate, defaultMessage: () => message } });
}

/**
 * Options of class `T` as {@link withDefaults} returns them once they pass
 * validation: every option has a value but those listed in `NoDefault`.
 */
export type Filled<T, NoDefault extends keyof T = never> = Readonly<
  Required<Omit<T, NoDefault>> & Pick<T, NoDefault>
>;

type GroupType = new () => object;

const groups = new WeakMap<object, Map<string | symbol, () => GroupType>>();

/**
 * A group of options (`cors: { ... }`): given as an object, it is filled in
 * with the defaults `type` declares. Its options are checked by the rules on
 * `type` only with {@link Nested} (or a rule that checks the group itself).
 */
export function Group(type: () => GroupType): PropertyDecorator {
  return (target, key) => {
    const own = groups.get(target) ?? new Map<string | symbol, () => GroupType>();
    own.set(key, type);
    groups.set(target, own);
  };
}

/** A {@link Group} whose options each report their own problems, as `group.option`. */
export function Nested(type: () => GroupType): PropertyDecorator {
  return applyAll(Group(type), ValidateNested());
}

/** The class of the group `key` of options of class `type`, if it is one. */
export function groupOf(type: GroupType, key: string): GroupType | undefined {
  return groups.get(type.prototype as object)?.get(key)?.();
}

/**
 * The options given, as an instance of their class: what is not given (or
 * given as `undefined`) keeps the default the class declares, recursively
 * into groups. Unknown keys are kept, for validation to report.
 */
export function withDefaults<T extends object>(type: new () => T, given: object): T {
  const options = new type();
  for (const [key, value] of Object.entries(given) as [string, unknown][]) {
    // An option given as undefined keeps its default; an unknown key stays, to be reported.
    if (value === undefined && key in options) continue;
    const group = groupOf(type, key);
    Reflect.set(options, key, group && isPlainObject(value) ? withDefaults(group, value) : value);
  }
  return options;
}

/** Every problem with options filled in by {@link withDefaults}, one per option at most. */
export function problemsOf(options: object): string[] {
  return flatten(
    validateSync(options, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
    }),
  );
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    // One problem per option is enough to fix it: the first that applies.
    const own = Object.values(error.constraints ?? {})
      .slice(0, 1)
      .map((message) =>
        message.startsWith(error.property) ? `${prefix}${message}` : `${path}: ${message}`,
      );
    return [...own, ...flatten(error.children ?? [], `${path}.`)];
  });
}

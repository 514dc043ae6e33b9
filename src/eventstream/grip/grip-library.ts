import type * as Grip from '@fanoutio/grip';

/**
 * `@fanoutio/grip`, loaded on first use in GRIP mode only. It is an ES
 * module, which Node (>= 20.19, >= 22.12) lets CommonJS `require`, but
 * Jest's module loader does not: an app in direct mode never loads it, so
 * its Jest tests need no configuration for it.
 */
export function gripLibrary(): typeof Grip {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@fanoutio/grip') as typeof Grip;
}

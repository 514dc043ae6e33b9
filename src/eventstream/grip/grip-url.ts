import { gripLibrary } from './grip-library';

/** A proxy's publish endpoint and keys, as `@fanoutio/grip` reads them from a GRIP URL. */
export interface GripProxy {
  readonly control_uri: string;
  readonly control_iss?: string;
  readonly key?: unknown;
  readonly verify_key?: unknown;
  readonly verify_iss?: unknown;
}

/**
 * A proxy's settings from its GRIP URL, read by `@fanoutio/grip`.
 * @throws when the URL is not an http(s) URL.
 */
export function parseGripUrl(url: string): GripProxy {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  return gripLibrary().parseGripUri(url);
}

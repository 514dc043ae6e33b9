import { ChannelAccessDeniedError } from '../errors/eventstream.errors';
import type { ChannelAuthorizer } from './channel-authorizer.interface';

export interface AccessDecision {
  readonly allowed: boolean;
  readonly expiresAt?: Date;
}

/** Asks the authorizer and normalises its answer. */
export async function authorize(
  authorizer: ChannelAuthorizer<unknown, unknown>,
  user: unknown,
  channel: string,
  request: object,
): Promise<AccessDecision> {
  const access = await authorizer.canReadChannel(user, channel, request);
  if (typeof access === 'boolean') return { allowed: access };
  return { allowed: access.allowed === true, expiresAt: access.expiresAt };
}

/**
 * Asks the authorizer for each channel in turn, and throws
 * `ChannelAccessDeniedError` at the first refused. Resolves with the
 * soonest expiry any channel's access has: a stream of several channels
 * must end when the first of them expires.
 */
export async function assertCanRead(
  authorizer: ChannelAuthorizer<unknown, unknown>,
  user: unknown,
  channels: readonly string[],
  request: object,
): Promise<Date | undefined> {
  let expiresAt: Date | undefined;
  for (const channel of channels) {
    const decision = await authorize(authorizer, user, channel, request);
    if (!decision.allowed) throw new ChannelAccessDeniedError(channel, user != null);
    if (decision.expiresAt && (!expiresAt || decision.expiresAt < expiresAt)) {
      expiresAt = decision.expiresAt;
    }
  }
  return expiresAt;
}

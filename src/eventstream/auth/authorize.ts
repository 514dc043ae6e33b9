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

import { Injectable } from '@nestjs/common';
import type { ChannelAccess, ChannelAuthorizer } from 'nestjs-eventstream';
import { PrismaService } from '../database/prisma.service.js';
import { isMember } from '../rooms/memberships.js';
import { type ChatUser, parseChannel } from './chat-user.js';

/**
 * Who may read which channel: `user-<id>` only its user, `room-<name>` the
 * room's members, nothing else anyone. Asked on every connect and reconnect,
 * and again for open streams on `channelPermissionChanged`.
 */
@Injectable()
export class ChatAuthorizer implements ChannelAuthorizer<ChatUser> {
  constructor(private readonly prisma: PrismaService) {}

  async canReadChannel(
    user: ChatUser | undefined,
    channel: string,
  ): Promise<ChannelAccess> {
    if (!user) return false; // the library answers 401: not signed in
    const target = parseChannel(channel);
    let allowed = false;
    if (target?.kind === 'user') allowed = target.userId === user.id;
    if (target?.kind === 'room')
      allowed = await isMember(this.prisma, user.id, target.room);
    // Streams end when the session does; the client must sign in again.
    return allowed ? { allowed, expiresAt: user.expiresAt } : false;
  }
}

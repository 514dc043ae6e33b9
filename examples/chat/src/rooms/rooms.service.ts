import { ForbiddenException, Injectable } from '@nestjs/common';
import { EventStreamService, type EventRecord } from 'nestjs-eventstream';
import { roomChannel, userChannel, type ChatUser } from '../auth/chat-user.js';
import { PrismaService, type PrismaTx } from '../database/prisma.service.js';
import type { ChatEvents, MessageEvent } from './chat-events.js';
import { isMember } from './memberships.js';

@Injectable()
export class RoomsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly events: EventStreamService<ChatEvents>,
  ) {}

  /** Joins a room: the membership and the events about it commit together. */
  async join(user: ChatUser, room: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.membership.createMany({
        data: [{ room, userId: user.id }],
        skipDuplicates: true,
      });
      if (count === 0) return; // already a member: nothing happened, nothing to tell
      await this.events.sendEvents(
        [
          {
            channel: roomChannel(room),
            type: 'joined',
            data: { user: user.id },
          },
          {
            channel: userChannel(user.id),
            type: 'notice',
            data: { text: `You joined ${room}`, room },
          },
        ],
        { transaction: tx },
      );
    });
  }

  /**
   * Leaves a room, then tells the library, which asks the authorizer again
   * for the user's open streams on the room and ends them (on every
   * instance). After the commit: the authorizer reads memberships on its own
   * connection, which sees the deletion only once it is committed. The
   * leaver's streams may end before the `left` event reaches them; other
   * members get it, and the notice stays on the user's own channel.
   */
  async leave(user: ChatUser, room: string): Promise<void> {
    const left = await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.membership.deleteMany({
        where: { room, userId: user.id },
      });
      if (count === 0) return false;
      await this.events.sendEvents(
        [
          { channel: roomChannel(room), type: 'left', data: { user: user.id } },
          {
            channel: userChannel(user.id),
            type: 'notice',
            data: { text: `You left ${room}`, room },
          },
        ],
        { transaction: tx },
      );
      return true;
    });
    if (left)
      await this.events.channelPermissionChanged(user.id, roomChannel(room));
  }

  /** Posts a message: its row and its event commit together, or neither does. */
  async post(
    user: ChatUser,
    room: string,
    text: string,
  ): Promise<EventRecord<MessageEvent>> {
    return this.prisma.$transaction((tx) =>
      this.saveMessage(tx, user, room, text),
    );
  }

  /**
   * Saves a message and sends its event in the caller's transaction: a
   * rollback removes both, and leaves no gap in the room's ids.
   */
  async saveMessage(
    tx: PrismaTx,
    user: ChatUser,
    room: string,
    text: string,
  ): Promise<EventRecord<MessageEvent>> {
    if (!(await isMember(tx, user.id, room))) {
      throw new ForbiddenException(`Join ${room} before posting in it`);
    }
    const message = await tx.message.create({
      data: { room, author: user.id, text },
    });
    return this.events.sendEvent(
      roomChannel(room),
      'message',
      {
        id: message.id,
        room: message.room,
        author: message.author,
        text: message.text,
        createdAt: message.createdAt.toISOString(),
      },
      { transaction: tx },
    );
  }
}

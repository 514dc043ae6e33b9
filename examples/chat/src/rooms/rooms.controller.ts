import {
  Body,
  Controller,
  HttpCode,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import type { ChatUser } from '../auth/chat-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { SessionGuard } from '../auth/session.guard.js';
import type { MessageEvent } from './chat-events.js';
import { PostMessageDto } from './post-message.dto.js';
import { RoomNamePipe } from './room-name.pipe.js';
import { RoomsService } from './rooms.service.js';

@Controller('rooms/:room')
@UseGuards(SessionGuard)
export class RoomsController {
  constructor(private readonly rooms: RoomsService) {}

  @Post('join')
  @HttpCode(204)
  join(
    @CurrentUser() user: ChatUser,
    @Param('room', RoomNamePipe) room: string,
  ): Promise<void> {
    return this.rooms.join(user, room);
  }

  @Post('leave')
  @HttpCode(204)
  leave(
    @CurrentUser() user: ChatUser,
    @Param('room', RoomNamePipe) room: string,
  ): Promise<void> {
    return this.rooms.leave(user, room);
  }

  /** Posts a message; answers with the id of its event, e.g. `room-lobby:7`. */
  @Post('messages')
  async post(
    @CurrentUser() user: ChatUser,
    @Param('room', RoomNamePipe) room: string,
    @Body() body: PostMessageDto,
  ): Promise<{ eventId: string; message: MessageEvent }> {
    const event = await this.rooms.post(user, room, body.text);
    return { eventId: event.id, message: event.data };
  }
}

import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Post,
  Query,
  UseFilters,
  ValidationPipe,
} from '@nestjs/common';
import { EventStreamService, formatEventId } from '../../eventstream';
import { EventStreamErrorFilter } from '../publish/eventstream-error.filter';
import { DemoChannelQueryDto, DemoMessageDto, type DemoMessage } from './demo-message.dto';
import { DEMO_PAGE } from './demo-page';

/** How many earlier messages a page that opens shows. */
const HISTORY = 20;

const validation = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  // Only what the DTO declares, as strings: nothing converted behind the scenes.
  transform: true,
  transformOptions: { enableImplicitConversion: false },
});

/**
 * The live demo: a chat page at `/` that anyone who reaches the server may
 * use, writing only to `demo` channels through `sendEvent`, as an app would.
 */
@Controller()
@UseFilters(EventStreamErrorFilter)
export class DemoController {
  constructor(private readonly events: EventStreamService) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return DEMO_PAGE;
  }

  /** Where a page starts reading: a few messages back, so it opens with some history. */
  @Get('demo/position')
  async position(@Query(validation) query: DemoChannelQueryDto): Promise<{ lastEventId: string }> {
    const seq = await this.events.getCurrentSeq(query.channel);
    return { lastEventId: formatEventId(query.channel, Math.max(0, seq - HISTORY)) };
  }

  @Post('demo/messages')
  @HttpCode(201)
  async post(@Body(validation) body: DemoMessageDto): Promise<{ id: string }> {
    const message: DemoMessage = {
      user: body.user,
      text: body.text,
      sentAt: new Date().toISOString(),
    };
    const event = await this.events.sendEvent(body.channel, 'message', message);
    return { id: event.id };
  }
}

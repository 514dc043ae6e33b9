import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Post,
  UseFilters,
  ValidationPipe,
} from '@nestjs/common';
import { EventStreamErrorFilter } from '../publish/eventstream-error.filter';
import { DemoMessageDto } from './demo-message.dto';
import { DemoMessages } from './demo-messages';
import { DEMO_PAGE } from './demo-page';

/**
 * The live demo: a chat page at `/` that anyone who reaches the server may
 * use, writing only to `demo` channels, as an app would: each message saved
 * with its event in one transaction.
 */
@Controller()
@UseFilters(EventStreamErrorFilter)
export class DemoController {
  constructor(private readonly messages: DemoMessages) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return DEMO_PAGE;
  }

  @Post('demo/messages')
  @HttpCode(201)
  async post(
    @Body(
      new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        // Only what the DTO declares, as strings: nothing converted behind the scenes.
        transform: true,
        transformOptions: { enableImplicitConversion: false },
      }),
    )
    body: DemoMessageDto,
  ): Promise<{ id: string }> {
    return { id: await this.messages.post(body.channel, body.user, body.text) };
  }
}

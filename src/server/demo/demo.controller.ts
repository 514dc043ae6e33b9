import {
  Controller,
  Get,
  Header,
  HttpCode,
  Post,
  Req,
  UseFilters,
  ValidationPipe,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { readJsonBody } from '../json-body/read-json-body';
import { EventStreamErrorFilter } from '../publish/eventstream-error.filter';
import { DemoMessageDto, MAX_DEMO_BODY_BYTES } from './demo-message.dto';
import { DemoMessages } from './demo-messages';
import { DEMO_PAGE } from './demo-page';

const validation = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  // Only what the DTO declares, as strings: nothing converted behind the scenes.
  transform: true,
  transformOptions: { enableImplicitConversion: false },
});

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
  async post(@Req() request: IncomingMessage): Promise<{ id: string }> {
    const body = (await validation.transform(await readJsonBody(request, MAX_DEMO_BODY_BYTES), {
      type: 'body',
      metatype: DemoMessageDto,
    })) as DemoMessageDto;
    return { id: await this.messages.post(body.channel, body.user, body.text) };
  }
}

import { Controller, Get } from '@nestjs/common';

@Controller()
export class StatusController {
  @Get()
  status() {
    return { service: 'nestjs-eventstream', status: 'ok' };
  }
}

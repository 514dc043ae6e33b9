import { Controller, Get } from '@nestjs/common';

/** `GET /health`: whether the server answers (it does not check the database). */
@Controller('health')
export class StatusController {
  @Get()
  status() {
    return { service: 'nestjs-eventstream', status: 'ok' };
  }
}

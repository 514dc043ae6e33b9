import { Controller, Get, Res } from '@nestjs/common';
import { EventStreamHealth, type EventStreamHealthReport } from '../eventstream';

/**
 * `GET /health`: the database and, in GRIP mode, the proxy; 200 when all are
 * up, 503 otherwise, for load balancers and container healthchecks.
 */
@Controller('health')
export class StatusController {
  constructor(private readonly health: EventStreamHealth) {}

  @Get()
  async status(
    @Res({ passthrough: true }) response: { status(code: number): unknown },
  ): Promise<{ service: string } & EventStreamHealthReport> {
    const report = await this.health.check();
    response.status(report.status === 'up' ? 200 : 503);
    return { service: 'nestjs-eventstream', ...report };
  }
}

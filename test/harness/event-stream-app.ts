import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  EventStreamModule,
  EventStreamService,
  type EventStreamModuleOptions,
} from '../../src/eventstream';
import { RetentionService } from '../../src/eventstream/retention/retention.service';

export interface EventStreamInstance {
  readonly app: INestApplicationContext;
  readonly events: EventStreamService;
  readonly retention: RetentionService;
  close(): Promise<void>;
}

/** A Nest application context with the module, as an app would import it. */
export async function startEventStream(
  options: EventStreamModuleOptions,
): Promise<EventStreamInstance> {
  const moduleRef = await Test.createTestingModule({
    imports: [EventStreamModule.forRoot({ migrate: true, retention: false, ...options })],
  }).compile();
  const app = await moduleRef.init();
  return {
    app,
    events: app.get(EventStreamService),
    retention: app.get(RetentionService),
    close: () => app.close(),
  };
}

import {
  createEventStream,
  type ConnectionState,
  type EventStream,
  type EventStreamOptions,
  type StreamError,
  type StreamReset,
} from '../../src/client';
import { waitFor } from './wait';

export interface ClientEvent {
  readonly type: string;
  readonly id: string | undefined;
  readonly data: unknown;
}

/**
 * The package's own client (`nestjs-eventstream/client`), run in Node over
 * real sockets, recording what it reports.
 */
export class ClientRecorder {
  readonly stream: EventStream;
  readonly received: ClientEvent[] = [];
  readonly states: ConnectionState[] = [];
  readonly errors: StreamError[] = [];
  readonly resets: StreamReset[] = [];

  constructor(url: string, types: string[], options: EventStreamOptions = {}) {
    this.stream = createEventStream(url, {
      backoff: { initialMs: 100, maxMs: 1000 },
      ...options,
      onStateChange: (state) => this.states.push(state),
      onError: (error) => this.errors.push(error),
      onReset: (reset) => this.resets.push(reset),
    });
    for (const type of types) {
      this.stream.on(type, (data, event) => this.received.push({ type, id: event.id, data }));
    }
  }

  data(): unknown[] {
    return this.received.map((event) => event.data);
  }

  async until(condition: (recorder: this) => boolean, timeoutMs = 15_000): Promise<void> {
    try {
      await waitFor(() => condition(this), timeoutMs);
    } catch {
      throw new Error(
        `client condition not met; state ${this.stream.state}, received ${JSON.stringify(
          this.received,
        )}, errors ${JSON.stringify(this.errors.map((e) => [e.condition, e.status, e.message]))}`,
      );
    }
  }

  close(): void {
    this.stream.close();
  }
}

import type { BaselineKind } from './baseline-servers';

/** Messages between the benchmark and its server process (server.ts). */
export interface StartOptions {
  readonly databaseUrl: string;
  /** Run the library's app; without it, only the baselines. */
  readonly app: boolean;
  /** Port of the app, or of the baselines when there is no app (Pushpin routes there). */
  readonly appPort?: number;
  /** GRIP mode, through this proxy; without it, direct mode. */
  readonly gripUrl?: string;
  /** Instead of the app, what a user writes without the library (baseline-servers.ts). */
  readonly baseline?: BaselineKind;
}

export type ServerCommand =
  | { readonly cmd: 'start'; readonly options: StartOptions }
  | {
      readonly cmd: 'send';
      readonly channel: string;
      readonly count: number;
      readonly perSecond: number;
      readonly padding: string;
    }
  | {
      readonly cmd: 'publish-bare';
      readonly publishUrl: string;
      readonly channel: string;
      readonly count: number;
      readonly perSecond: number;
      readonly padding: string;
    }
  | { readonly cmd: 'stats' }
  /** Direct mode's per-event times (server.ts, timePhases) since the last call. */
  | { readonly cmd: 'phases' }
  /** Per event since the last call: its seq, and when it was sent, committed and written. */
  | { readonly cmd: 'event-times' }
  /** A CPU profile of this process from `profile-start` to `profile-stop`, written to `file`. */
  | { readonly cmd: 'profile-start'; readonly intervalMicros: number }
  | { readonly cmd: 'profile-stop'; readonly file: string }
  | { readonly cmd: 'memory'; readonly settled?: boolean }
  | { readonly cmd: 'watch-rss' }
  | { readonly cmd: 'peak-rss' }
  | { readonly cmd: 'watch-live' }
  | { readonly cmd: 'peak-live' }
  | { readonly cmd: 'stop' };

export interface ServerReply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

export interface ServerStats {
  /** HTTP requests served so far, by the app and the baselines. */
  readonly requests: number;
  /** Streams the app (direct mode) or the baseline server holds itself. */
  readonly streams: number;
  /** Bare SSE responses held by the baseline. */
  readonly held: number;
}

export interface ServerMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/**
 * When each event went through the server, on the monotonic clock all
 * processes share (ns): sent (just before `sendEvent` or the baseline's
 * publish), committed (direct mode: the hub heard the commit; the baselines
 * store nothing, so the same as sent) and written (the last stream's write
 * returned), in the order the events were sent.
 */
export interface EventTimes {
  readonly seq: number[];
  readonly sent: number[];
  readonly committed: number[];
  readonly written: number[];
  /** CPU time of the server process (all threads) since the last call, µs. */
  readonly cpuMicros?: number;
}

/** How much the benchmark does: the full run, or a quick one (`-- --quick`) to try changes. */
export interface Scale {
  readonly name: 'full' | 'quick';
  /** Length of each write-throughput measurement, split into rounds. */
  readonly writeMs: number;
  readonly writeRounds: number;
  /**
   * Delivery runs: connected clients and events per second on their one
   * channel, and how many times the two Pushpin modes run, in turns (the
   * run with the median p99 of each is kept).
   */
  readonly delivery: readonly {
    readonly clients: number;
    readonly perSecond: number;
    readonly rounds: number;
  }[];
  /** How long each delivery run publishes. */
  readonly deliverySeconds: number;
  /** Idle direct-mode streams to measure memory with. */
  readonly memoryStreams: readonly number[];
  /** How far behind a reconnecting client is. */
  readonly replayBehind: readonly number[];
  /** Replay measurements per size (the median is kept). */
  readonly replayRepeats: number;
}

export const FULL: Scale = {
  name: 'full',
  writeMs: 3_000,
  writeRounds: 5,
  delivery: [
    { clients: 100, perSecond: 20, rounds: 1 },
    { clients: 1_000, perSecond: 20, rounds: 6 },
    { clients: 10_000, perSecond: 1, rounds: 1 },
  ],
  deliverySeconds: 10,
  memoryStreams: [1_000, 10_000],
  replayBehind: [1_000, 100_000],
  replayRepeats: 3,
};

export const QUICK: Scale = {
  name: 'quick',
  writeMs: 500,
  writeRounds: 1,
  delivery: [
    { clients: 100, perSecond: 20, rounds: 1 },
    { clients: 1_000, perSecond: 20, rounds: 1 },
  ],
  deliverySeconds: 3,
  memoryStreams: [1_000],
  replayBehind: [1_000, 100_000],
  replayRepeats: 1,
};

import { withClient } from '../test/harness/postgres';
import { load, round, until } from './measure';
import type { Scale } from './scale';
import { ServerProcess } from './server-control';
import { SseClient } from './sse-load';

export interface ReplayFigure {
  /** How many events behind the reconnecting client is. */
  readonly behind: number;
  /** From sending the request to the first replayed event, and to the last. */
  readonly firstEventMs: number;
  readonly lastEventMs: number;
  /** The same rows read with plain `pg` (pages of 1000) and written as the same frames. */
  readonly baselineFirstEventMs: number;
  readonly baselineLastEventMs: number;
  readonly ratio: number;
  /** Server RSS growth at its peak during the library's replay. */
  readonly peakRssGrowthMiB: number;
  /**
   * Growth of what the server holds (heap and buffers after a full
   * collection) at its peak during a further, untimed replay: RSS also counts
   * what the allocator keeps after garbage is freed, such as the young
   * generation grown to its maximum by a fast stream of short-lived objects.
   */
  readonly peakLiveGrowthMiB: number;
  /** What the client received. */
  readonly streamedMiB: number;
  readonly load: number;
}

const CHANNEL = 'replay';

/** One reconnect: resolves with the times to the first and the last replayed event. */
function reconnect(
  port: number,
  path: string,
  lastEventId: string | undefined,
  lastSeq: number,
): Promise<{ first: number; last: number; bytes: number }> {
  const started = performance.now();
  let first = 0;
  return new Promise((resolve, reject) => {
    const client = new SseClient({
      port,
      path,
      lastEventId,
      onEvent: (event) => {
        if (event.type !== 'tick') return;
        first ||= performance.now() - started;
        if (event.id === `${CHANNEL}:${lastSeq}`) {
          client.close();
          const last = performance.now() - started;
          resolve({ first, last, bytes: client.socket.bytesRead });
        }
      },
      onClose: (_c, error) => reject(error ?? new Error('closed before the last event')),
    });
  });
}

/**
 * A reconnect some events behind, in direct mode, against the floor of
 * reading the same rows with plain `pg` and writing them as SSE frames
 * from a bare `node:http` server, in the same server process.
 */
export async function benchReplay(databaseUrl: string, scale: Scale): Promise<ReplayFigure[]> {
  const { server, appPort, rawPort } = await ServerProcess.start(
    { databaseUrl, app: true },
    'replay',
  );
  const total = Math.max(...scale.replayBehind);
  try {
    await withClient(databaseUrl, async (client) => {
      await client.query('INSERT INTO eventstream.channels (name, last_seq) VALUES ($1, $2)', [
        CHANNEL,
        total,
      ]);
      await client.query(
        `INSERT INTO eventstream.events (channel, seq, type, data)
         SELECT $1, g, 'tick', json_build_object('n', g, 'text', repeat('x', 64))
         FROM generate_series(1, $2::int) g`,
        [CHANNEL, total],
      );
      await client.query('VACUUM ANALYZE eventstream.events');
    });
    // Once each, untimed: connections, plans and the JIT warm up.
    const warm = total - Math.min(...scale.replayBehind);
    await reconnect(rawPort, `/replay?channel=${CHANNEL}&after=${warm}`, '', total);
    await reconnect(appPort!, `/events?channel=${CHANNEL}`, `${CHANNEL}:${warm}`, total);
    const figures: ReplayFigure[] = [];
    for (const behind of scale.replayBehind) {
      const after = total - behind;
      const ours: { first: number; last: number; bytes: number }[] = [];
      const raw: { first: number; last: number }[] = [];
      let peak = 0;
      for (let i = 0; i < scale.replayRepeats; i++) {
        raw.push(await reconnect(rawPort, `/replay?channel=${CHANNEL}&after=${after}`, '', total));
        const before = (await server.memory()).rss;
        await server.call({ cmd: 'watch-rss' });
        ours.push(
          await reconnect(appPort!, `/events?channel=${CHANNEL}`, `${CHANNEL}:${after}`, total),
        );
        peak = Math.max(peak, ((await server.call({ cmd: 'peak-rss' })) as number) - before);
        // Let the server notice the client left before the next round.
        await until(async () => (await server.stats()).streams === 0, 10_000, 'stream closed');
      }
      const liveBefore = (await server.call({ cmd: 'watch-live' })) as number;
      await reconnect(appPort!, `/events?channel=${CHANNEL}`, `${CHANNEL}:${after}`, total);
      const livePeak = ((await server.call({ cmd: 'peak-live' })) as number) - liveBefore;
      await until(async () => (await server.stats()).streams === 0, 10_000, 'stream closed');
      const median = (runs: { first: number; last: number }[], key: 'first' | 'last') =>
        runs.map((run) => run[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
      figures.push({
        behind,
        firstEventMs: round(median(ours, 'first')),
        lastEventMs: round(median(ours, 'last')),
        baselineFirstEventMs: round(median(raw, 'first')),
        baselineLastEventMs: round(median(raw, 'last')),
        ratio: round(median(ours, 'last') / median(raw, 'last')),
        peakRssGrowthMiB: round(peak / 2 ** 20, 1),
        peakLiveGrowthMiB: round(livePeak / 2 ** 20, 1),
        streamedMiB: round(ours[0].bytes / 2 ** 20, 1),
        load: load(),
      });
    }
    return figures;
  } finally {
    await server.stop();
  }
}

import { withClient } from '../../test/harness/postgres';
import { within } from '../../test/harness/wait';
import { checkDeliveries, quantile, type CheckResult } from './checker';
import { ClusterClient, type StreamPath } from './cluster-client';
import { Publisher, type FailedPublish } from './publisher';
import { startCluster, type Cluster } from './topology';

export interface RunOptions {
  /** How long the publishers run; the faults happen at fixed fractions of it. */
  readonly durationMs: number;
  readonly clients: number;
  readonly channels: number;
  /** Events per second posted to each instance. */
  readonly ratePerInstance: number;
  /** Clients reconnect without Last-Event-ID: a broken client the checker must catch. */
  readonly forgetPositions?: boolean;
  readonly log?: (line: string) => void;
}

export interface FaultReport {
  readonly name: string;
  /** Milliseconds from the first publish. */
  readonly at: number;
  /** Until the part was up again. */
  readonly downMs: number;
  /** Client connections that broke from when it began until the next fault began. */
  readonly breaks: number;
  /** Publishes that got no 2xx in that time. */
  readonly failedPublishes: number;
}

export interface RunReport {
  readonly check: CheckResult;
  readonly faults: readonly FaultReport[];
  readonly acknowledged: number;
  /** Acknowledged events per second, and the rate aimed at. */
  readonly publishRate: { readonly achieved: number; readonly target: number };
  /** From a publish request to its 2xx, milliseconds. */
  readonly publishLatencyMs: { readonly p50: number; readonly p99: number };
  readonly failedPublishes: number;
  /** Why publishes failed, with how many times each. */
  readonly failureReasons: Readonly<Record<string, number>>;
  /** From the first publish until the last client had every event. */
  readonly elapsedMs: number;
  /** After the publishers stopped, until the last client had every event. */
  readonly drainMs: number;
  readonly deliveredPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly breaksByPath: Readonly<Record<string, number>>;
  readonly clientsByPath: Readonly<Record<string, number>>;
  /** Page reads the replica answered (its own statement log). */
  readonly replicaPageReads: number;
}

const INSTANCES = 3;
/**
 * The bundled server's retention keeps 100,000 events per channel (and 24 h):
 * a run stays far below, so that no `stream-reset` can be put down to it.
 */
const RETENTION_EVENTS = 100_000;
const PUSHPINS = 2;
/** How long the clients get, after the last publish, to have every event. */
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * Starts the cluster, opens the clients, publishes on every instance while
 * the faults happen, waits for the clients to catch up, checks what they
 * received against what was acknowledged and stored, and stops everything.
 */
export async function runCluster(options: RunOptions): Promise<RunReport> {
  const log = options.log ?? (() => undefined);
  log(`Starting ${INSTANCES} instances, ${PUSHPINS} Pushpins, a Postgres primary and replica`);
  const cluster = await startCluster({
    instances: INSTANCES,
    pushpins: PUSHPINS,
    messageRate: 100_000,
  });
  const clients: ClusterClient[] = [];
  try {
    const paths: StreamPath[] = [
      ...cluster.pushpins.map((pushpin, i) => ({ name: `pushpin-${i + 1}`, url: pushpin.url })),
      ...cluster.instances.map((instance, i) => ({ name: `app-${i + 1}`, url: instance.url })),
    ];
    const channels = Array.from({ length: options.channels }, (_, i) => `room-${i}`);
    for (let i = 0; i < options.clients; i++) {
      clients.push(
        new ClusterClient({
          name: `client-${i + 1}`,
          // Every third client holds two channels (a composite id).
          channels:
            i % 3 === 0
              ? [channels[i % channels.length], channels[(i + 1) % channels.length]]
              : [channels[i % channels.length]],
          paths: paths.map((_, k) => paths[(i + k) % paths.length]),
          forgetPosition: options.forgetPositions,
        }),
      );
    }
    await within(
      Promise.all(clients.map((client) => client.whenOpen())),
      30_000,
      'the clients did not all open their streams',
    );
    const clientsByPath = countBy(clients.map((_, i) => paths[i % paths.length].name));
    log(`${clients.length} clients open: ${JSON.stringify(clientsByPath)}`);

    const publishers = cluster.instances.map(
      (instance, i) =>
        new Publisher({
          name: `pub-${i + 1}`,
          url: instance.url,
          channels,
          rate: options.ratePerInstance,
          concurrency: 8,
        }),
    );
    const start = Date.now();
    publishers.forEach((publisher) => publisher.start());
    log(`Publishing ${options.ratePerInstance * INSTANCES} events/s for ${options.durationMs} ms`);
    const faultTimes = await runFaults(cluster, start, options.durationMs, log);
    await sleepUntil(start + options.durationMs);
    await Promise.all(publishers.map((publisher) => publisher.stop()));
    const published = Date.now();
    log('Publishers stopped; waiting for every client to have every event');

    const heads = await readHeads(cluster.postgres.primaryUrl);
    const caughtUp = () =>
      clients.every((client) =>
        client.record.channels.every(
          (channel) => client.position(channel) >= (heads.get(channel) ?? 0),
        ),
      );
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (!caughtUp() && Date.now() < drainDeadline) await sleep(50);
    const caughtUpAt = Date.now();
    // A little longer, so that a duplicate arriving late is seen too.
    await sleep(1_000);
    clients.forEach((client) => client.close());

    const acks = publishers.flatMap((publisher) => publisher.acks);
    const failures = publishers.flatMap((publisher) => publisher.failures);
    const publishLatencies = publishers
      .flatMap((publisher) => publisher.latencies)
      .sort((a, b) => a - b);
    const check = checkDeliveries({ clients: clients.map((client) => client.record), acks, heads });
    for (const [channel, head] of heads) {
      if (head > RETENTION_EVENTS / 2) {
        check.violations.push(`${channel} has ${head} events: too near retention to rule it out`);
      }
    }
    const breaks = clients.flatMap((client) => client.breaks);
    const elapsedMs = Math.max(1, caughtUpAt - start);
    return {
      check,
      faults: attribute(faultTimes, start, breaks, failures),
      acknowledged: acks.length,
      publishRate: {
        achieved: acks.length / ((published - start) / 1000),
        target: options.ratePerInstance * INSTANCES,
      },
      publishLatencyMs: {
        p50: quantile(publishLatencies, 0.5),
        p99: quantile(publishLatencies, 0.99),
      },
      failedPublishes: failures.length,
      failureReasons: countBy(failures.map((f) => f.reason.slice(0, 120))),
      elapsedMs,
      drainMs: caughtUpAt - published,
      deliveredPerSecond: check.deliveries / (elapsedMs / 1000),
      latencyMs: {
        p50: quantile(check.latencies, 0.5),
        p99: quantile(check.latencies, 0.99),
        max: check.latencies[check.latencies.length - 1] ?? Number.NaN,
      },
      breaksByPath: countBy(breaks.map((b) => b.path)),
      clientsByPath,
      replicaPageReads: cluster.postgres.replica.pageReads(),
    };
  } finally {
    clients.forEach((client) => client.close());
    await cluster.stop();
  }
}

interface FaultTime {
  readonly name: string;
  readonly at: number;
  readonly downMs: number;
}

/**
 * The faults, each at fixed fractions of the run, side by side: an instance
 * killed (SIGKILL) and started again; one Pushpin restarted while the
 * replica is up, so that the reconnects replay from it; the replica stopped,
 * and the other Pushpin restarted while it is down (those replays fall back
 * to the primary), then the replica started again.
 */
async function runFaults(
  cluster: Cluster,
  start: number,
  durationMs: number,
  log: (line: string) => void,
): Promise<FaultTime[]> {
  const seconds = (time: number) => `${((time - start) / 1000).toFixed(1)} s`;
  const fault = async (
    name: string,
    fraction: number,
    act: () => Promise<void>,
    restore?: { readonly fraction: number; readonly act: () => Promise<void> },
  ): Promise<FaultTime> => {
    await sleepUntil(start + fraction * durationMs);
    const at = Date.now();
    log(`${seconds(at)}: ${name}`);
    await act();
    if (restore) {
      await sleepUntil(start + restore.fraction * durationMs);
      await restore.act();
    }
    log(`${seconds(Date.now())}: ${name}: back after ${Date.now() - at} ms`);
    return { name, at: at - start, downMs: Date.now() - at };
  };
  const victim = cluster.instances[1];
  const [pushpin1, pushpin2] = cluster.pushpins;
  const replica = cluster.postgres.replica;
  const times = await Promise.all([
    fault('app-2 killed (SIGKILL), started again', 0.15, () => victim.kill(), {
      fraction: 0.25,
      act: () => victim.start(),
    }),
    fault('pushpin-1 restarted', 0.35, () => pushpin1.restart()),
    fault('replica stopped, started again', 0.55, () => replica.stop(), {
      fraction: 0.8,
      act: () => replica.start(),
    }),
    fault('pushpin-2 restarted (replica down)', 0.65, () => pushpin2.restart()),
  ]);
  return times.sort((a, b) => a.at - b.at);
}

/** Breaks and failed publishes, each counted for the last fault that began before it. */
function attribute(
  times: readonly FaultTime[],
  start: number,
  breaks: readonly { at: number }[],
  failures: readonly FailedPublish[],
): FaultReport[] {
  const rows = [{ name: 'before any fault', at: 0, downMs: 0 }, ...times];
  const owner = (at: number) => {
    let index = 0;
    rows.forEach((row, i) => (at - start >= row.at ? (index = i) : undefined));
    return index;
  };
  const breakCounts = countBy(breaks.map((b) => String(owner(b.at))));
  const failureCounts = countBy(failures.map((f) => String(owner(f.at))));
  return rows.map((row, i) => ({
    ...row,
    breaks: breakCounts[i] ?? 0,
    failedPublishes: failureCounts[i] ?? 0,
  }));
}

async function readHeads(primaryUrl: string): Promise<Map<string, number>> {
  return withClient(primaryUrl, async (client) => {
    const { rows } = await client.query<{ name: string; last_seq: string }>(
      'SELECT name, last_seq FROM eventstream.channels',
    );
    return new Map(rows.map((row) => [row.name, Number(row.last_seq)]));
  });
}

function countBy(keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleepUntil(time: number): Promise<void> {
  return sleep(Math.max(0, time - Date.now()));
}

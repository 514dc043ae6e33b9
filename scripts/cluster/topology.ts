import { randomBytes } from 'node:crypto';
import { freePorts } from '../../src/server/free-port';
import { startPushpin, type RunningPushpin } from '../../test/harness/pushpin';
import {
  startReplicatedPostgres,
  type ReplicatedPostgres,
} from '../../test/harness/replicated-postgres';
import { startServerProcess, type ServerProcess } from '../../test/harness/server-process';

/** The publish key every instance takes on `POST /publish`. */
export const PUBLISH_KEY = `cluster-${randomBytes(16).toString('hex')}`;

export interface ClusterShape {
  readonly instances: number;
  readonly pushpins: number;
  /** Pushpin's `message_rate`; the stock 2500 would pace delivery, not the app. */
  readonly messageRate: number;
}

/** One bundled-server process, which a fault may kill and start again on its port. */
export class AppInstance {
  private process?: ServerProcess;

  constructor(
    readonly index: number,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  async start(): Promise<void> {
    this.process = await startServerProcess(this.env, this.port);
  }

  /** SIGKILL: no shutdown, its streams and requests in flight just cut. */
  async kill(): Promise<void> {
    const running = this.process;
    this.process = undefined;
    await running?.kill();
  }

  async stop(): Promise<void> {
    const running = this.process;
    this.process = undefined;
    await running?.stop();
  }

  output(): string {
    return this.process?.output() ?? '';
  }
}

/**
 * On loopback: a Postgres primary and its streaming replica, Pushpins in
 * front of every instance (each tries them in its own order, so that each
 * fails over to the next when one is down), and instances of the bundled
 * server that publish to every Pushpin and read pages from the replica.
 */
export interface Cluster {
  readonly postgres: ReplicatedPostgres;
  readonly pushpins: readonly RunningPushpin[];
  readonly instances: readonly AppInstance[];
  stop(): Promise<void>;
}

export async function startCluster(shape: ClusterShape): Promise<Cluster> {
  const postgres = await startReplicatedPostgres();
  const pushpins: RunningPushpin[] = [];
  const instances: AppInstance[] = [];
  const stop = async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await Promise.all(pushpins.map((pushpin) => pushpin.stop()));
    await postgres.stop();
  };
  try {
    const ports = await freePorts(shape.instances);
    const sigKey = `cluster-sig-${randomBytes(16).toString('hex')}`;
    for (let i = 0; i < shape.pushpins; i++) {
      // Pushpin i tries instance i first: the held streams' next-link calls
      // spread over the instances, and each Pushpin has somewhere to go
      // while one instance is down.
      const order = ports.map((_, k) => ports[(i + k) % ports.length]);
      pushpins.push(
        await startPushpin({
          backendPort: order,
          sigKey,
          settings: { message_rate: shape.messageRate },
        }),
      );
    }
    const env = {
      DATABASE_URL: postgres.primaryUrl,
      DATABASE_REPLICA_URLS: postgres.replica.url,
      GRIP_URL: pushpins.map((pushpin) => pushpin.gripUrl).join(' '),
      EVENTSTREAM_PUBLISH_KEY: PUBLISH_KEY,
      EVENTSTREAM_DEMO: 'off',
    };
    instances.push(...ports.map((port, index) => new AppInstance(index, port, env)));
    // One first, so that the migrations are applied once before the others
    // start (they would wait on the migrator's lock anyway).
    await instances[0].start();
    await Promise.all(instances.slice(1).map((instance) => instance.start()));
  } catch (error) {
    await stop();
    throw error;
  }
  return { postgres, pushpins, instances, stop };
}

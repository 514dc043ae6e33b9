/** One event as a client received it. */
export interface Delivery {
  readonly channel: string;
  readonly seq: number;
  /** Which publish it was (publisher and count), from its data. */
  readonly token: string;
  readonly sentAt: number;
  readonly receivedAt: number;
  /** The Pushpin or instance it came through. */
  readonly path: string;
}

/** Everything one client received, in order. */
export interface ClientRecord {
  readonly name: string;
  readonly channels: readonly string[];
  readonly deliveries: Delivery[];
  readonly resets: string[];
  readonly streamErrors: string[];
}

/** A publish answered 2xx: the id the server gave the event. */
export interface Ack {
  readonly channel: string;
  readonly seq: number;
  readonly token: string;
}

export interface CheckInput {
  readonly clients: readonly ClientRecord[];
  readonly acks: readonly Ack[];
  /** Each channel's last seq in the primary once the run is over. */
  readonly heads: ReadonlyMap<string, number>;
}

export interface CheckResult {
  readonly violations: string[];
  readonly deliveries: number;
  /** Publish-to-receive, milliseconds, sorted. */
  readonly latencies: number[];
  /** Events stored whose publish got no 2xx (cut by a fault): legitimate, and delivered too. */
  readonly unacknowledgedStored: number;
}

/**
 * Every client opened its streams before the first publish, on fresh
 * channels, so each must have received every stored event of each of its
 * channels exactly once, in seq order: 1, 2, … up to the channel's head.
 * Every acknowledged event is stored (its ack names its seq), so this proves
 * it reached every subscriber; its data must be the publish the ack was for.
 * A `stream-reset` is a failure: the run keeps far fewer events than
 * retention would trim. So is a `stream-error`.
 */
export function checkDeliveries(input: CheckInput): CheckResult {
  const violations: string[] = [];
  const acked = new Map<string, string>();
  for (const ack of input.acks) {
    const key = `${ack.channel}:${ack.seq}`;
    const earlier = acked.get(key);
    if (earlier !== undefined) {
      violations.push(`${key} was acknowledged twice, for ${earlier} and ${ack.token}`);
    }
    acked.set(key, ack.token);
    if (ack.seq > (input.heads.get(ack.channel) ?? 0)) {
      violations.push(`${key} was acknowledged but the channel's head is lower`);
    }
  }
  const latencies: number[] = [];
  let deliveries = 0;
  for (const client of input.clients) {
    for (const reset of client.resets) violations.push(`${client.name} got stream-reset ${reset}`);
    for (const error of client.streamErrors) {
      violations.push(`${client.name} got stream-error ${error}`);
    }
    for (const channel of client.channels) {
      let last = 0;
      for (const delivery of client.deliveries) {
        if (delivery.channel !== channel) continue;
        const where = `${client.name} on ${channel}:${delivery.seq} via ${delivery.path}`;
        if (!Number.isInteger(delivery.seq)) violations.push(`${where}: no seq in its id`);
        else if (delivery.seq <= last) {
          violations.push(`${where}: ${delivery.seq === last ? 'duplicate' : 'out of order'}`);
        } else if (delivery.seq > last + 1) {
          violations.push(`${where}: gap, ${describeRange(channel, last + 1, delivery.seq - 1)}`);
        }
        const token = acked.get(`${channel}:${delivery.seq}`);
        if (token !== undefined && token !== delivery.token) {
          violations.push(`${where}: carries ${delivery.token}, acknowledged for ${token}`);
        }
        if (Number.isInteger(delivery.seq)) last = Math.max(last, delivery.seq);
        deliveries++;
        latencies.push(delivery.receivedAt - delivery.sentAt);
      }
      const head = input.heads.get(channel) ?? 0;
      if (last < head) {
        violations.push(`${client.name} never got ${describeRange(channel, last + 1, head)}`);
      }
    }
    const subscribed = new Set(client.channels);
    for (const delivery of client.deliveries) {
      if (!subscribed.has(delivery.channel)) {
        violations.push(`${client.name} got ${delivery.channel}:${delivery.seq}, not its channel`);
      }
    }
  }
  let stored = 0;
  for (const head of input.heads.values()) stored += head;
  return {
    violations,
    deliveries,
    latencies: latencies.sort((a, b) => a - b),
    unacknowledgedStored: stored - acked.size,
  };
}

function describeRange(channel: string, from: number, to: number): string {
  return from === to ? `${channel}:${from}` : `${channel}:${from}..${to} (${to - from + 1} events)`;
}

/** The `q` quantile of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * Loaded with `node --require` (through NODE_OPTIONS) into a server process by
 * publish-stages.ts, or imported by it for the in-process send: stamps, on
 * the monotonic clock every process on the host shares
 * (`process.hrtime.bigint()`), each step a lone publish passes through:
 * - `http-write`: bytes out to an accepted socket (node:http's parser reads
 *   its socket without 'data' events, so `request` is the first step in);
 * - `request`, `end`: node:http's 'request' event and the body's end;
 * - `send`, `resolved`: `EventStreamService.sendEvent(s)` called / settled;
 * - `pg-write` / `pg-data`: bytes to / from Postgres (`STAGE_PG_PORT`).
 * On SIGUSR2 it writes what it holds to `STAGE_PROBE_OUT.<n>` (with the
 * process's CPU time since the last dump) and starts again.
 */
import { writeFileSync } from 'node:fs';
import { IncomingMessage, Server } from 'node:http';
import Module from 'node:module';
import { Socket } from 'node:net';

export const LABELS = [
  'http-data',
  'request',
  'end',
  'send',
  'pg-write',
  'pg-data',
  'resolved',
  'http-write',
] as const;
export type Label = (typeof LABELS)[number];

const CAPACITY = 1_000_000;
const times = new BigInt64Array(CAPACITY);
const labels = new Uint8Array(CAPACITY);
let count = 0;
let cpuSince = process.cpuUsage();
let dumps = 0;

export function stamp(label: Label): void {
  if (count === CAPACITY) return;
  times[count] = process.hrtime.bigint();
  labels[count++] = LABELS.indexOf(label);
}

export interface ProbeDump {
  readonly events: [Label, string][];
  /** CPU µs of the process (user + system) since the last dump. */
  readonly cpuMicros: number;
}

/** What was stamped since the last call, and the CPU time taken meanwhile. */
export function takeDump(): ProbeDump {
  const events: [Label, string][] = [];
  for (let i = 0; i < count; i++) events.push([LABELS[labels[i]], times[i].toString()]);
  const cpu = process.cpuUsage(cpuSince);
  cpuSince = process.cpuUsage();
  count = 0;
  return { events, cpuMicros: cpu.user + cpu.system };
}

// Read when used: the experiment sets it after it has loaded the probe.
const kindOf = (socket: Socket) =>
  (socket as Socket & { server?: unknown }).server
    ? 'http'
    : socket.remotePort === Number(process.env.STAGE_PG_PORT)
      ? 'pg'
      : undefined;

const socketProto = Socket.prototype as unknown as {
  emit: (event: string | symbol, ...args: unknown[]) => boolean;
  _writeGeneric: (...args: unknown[]) => unknown;
};
const emit = socketProto.emit;
socketProto.emit = function (this: Socket, event, ...args) {
  if (event === 'data') {
    const kind = kindOf(this);
    if (kind) stamp(`${kind}-data`);
  }
  return emit.call(this, event, ...args);
};
const writeGeneric = socketProto._writeGeneric;
socketProto._writeGeneric = function (this: Socket, ...args: unknown[]) {
  const kind = kindOf(this);
  if (kind) stamp(`${kind}-write`);
  return writeGeneric.apply(this, args);
};

type Emit = (this: unknown, ...all: unknown[]) => boolean;
const serverEmit = (Server.prototype as unknown as { emit: Emit }).emit;
Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
  if (event === 'request') stamp('request');
  return serverEmit.apply(this, [event, ...args]);
} as typeof Server.prototype.emit;
const messageEmit = (IncomingMessage.prototype as unknown as { emit: Emit }).emit;
IncomingMessage.prototype.emit = function (
  this: IncomingMessage,
  event: string | symbol,
  ...args: unknown[]
) {
  if (event === 'end') stamp('end');
  return messageEmit.apply(this, [event, ...args]);
} as typeof IncomingMessage.prototype.emit;

/** Wraps `sendEvent` and `sendEvents` of every copy of the service that is loaded. */
type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Loader };
const load = loader._load;
const patched = new WeakSet<object>();
loader._load = function (request, parent, isMain) {
  const exports = load.call(this, request, parent, isMain) as {
    EventStreamService?: { prototype: Record<string, unknown> };
  };
  let proto: Record<string, unknown> | undefined;
  try {
    if (typeof exports === 'object' && exports !== null && 'EventStreamService' in exports) {
      proto = exports.EventStreamService?.prototype;
    }
  } catch {
    // A module whose exports throw on access is none of ours.
  }
  if (proto && !patched.has(proto)) {
    patched.add(proto);
    let depth = 0;
    for (const name of ['sendEvent', 'sendEvents']) {
      const original = proto[name] as (...args: unknown[]) => Promise<unknown>;
      proto[name] = function (this: unknown, ...args: unknown[]) {
        if (depth > 0) return original.apply(this, args);
        stamp('send');
        depth++;
        try {
          return original.apply(this, args).then((value) => {
            stamp('resolved');
            return value;
          });
        } finally {
          depth--;
        }
      };
    }
  }
  return exports;
};

const out = process.env.STAGE_PROBE_OUT;
if (out) {
  process.on('SIGUSR2', () => {
    writeFileSync(`${out}.${dumps++}`, JSON.stringify(takeDump()));
  });
}

/**
 * What Express's per-response hidden classes cost a fan-out (#22, target 2):
 * the same frame written to 1,000 held SSE responses of a bare `node:http`
 * server and to 1,000 held by an Express 5 app (Nest's default platform), in
 * turns, in one process, with the CPU time of each. Express changes each
 * response's prototype and then adds `res.locals`, which gives every
 * response a hidden class of its own (checked with `%HaveSameMap`), so every
 * property read on a response in the loop, Node's `write()` included, is a
 * megamorphic lookup.
 *
 *   node dist/bench/bench/experiments/response-maps.js [streams] [rounds]
 */
import express from 'express';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';

const STREAMS = Number(process.argv[2] ?? 1_000);
const ROUNDS = Number(process.argv[3] ?? 6);
const EVENTS = 200;
const FRAME = Buffer.from(`event: tick\nid: c:1\ndata: {"t":"1","p":"${'x'.repeat(64)}"}\n\n`);

async function hold(kind: 'node:http' | 'express'): Promise<ServerResponse[]> {
  const held: ServerResponse[] = [];
  const open = (response: ServerResponse) => {
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });
    response.flushHeaders();
    held.push(response);
  };
  let server;
  if (kind === 'express') {
    const app = express();
    app.get('/sse', (_request, response) => open(response));
    server = createServer(app);
  } else {
    server = createServer((_request, response) => open(response));
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  for (let i = 0; i < STREAMS; i++) {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('data', () => undefined);
    socket.write(`GET /sse HTTP/1.1\r\nHost: x\r\n\r\n`);
  }
  while (held.length < STREAMS) await new Promise((resolve) => setTimeout(resolve, 10));
  return held;
}

type Flushable = ServerResponse & { flush?: () => void };
/** How a stream writes: as StreamSession did before (reads on the response), and now. */
const WRITES = {
  before: (response: Flushable) => {
    if (!response.writableNeedDrain) {
      response.write(FRAME);
      response.flush?.();
    }
  },
  now: (response: Flushable, backedUp: Uint8Array, index: number) => {
    if (!backedUp[index] && !response.write(FRAME)) backedUp[index] = 1;
  },
  /** The chunk framed once for every stream, written to each socket: no read on the response. */
  socket: (_response: Flushable, backedUp: Uint8Array, index: number, sockets?: Socket[]) => {
    if (!backedUp[index] && !(sockets as Socket[])[index].write(CHUNK)) backedUp[index] = 1;
  },
};
const CHUNK = Buffer.concat([
  Buffer.from(`${FRAME.length.toString(16)}\r\n`),
  FRAME,
  Buffer.from('\r\n'),
]);

/** CPU µs of `EVENTS` events, each written to every response, a turn of the loop apart. */
async function fanOut(
  responses: ServerResponse[],
  write: (response: Flushable, backedUp: Uint8Array, index: number, sockets?: Socket[]) => void,
): Promise<number> {
  // No client falls behind here: nothing clears a flag.
  const backedUp = new Uint8Array(responses.length);
  const sockets = responses.map((response) => response.socket as Socket);
  const before = process.cpuUsage();
  for (let event = 0; event < EVENTS; event++) {
    responses.forEach((response, index) => write(response, backedUp, index, sockets));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

async function main(): Promise<void> {
  const plain = await hold('node:http');
  const viaExpress = await hold('express');
  const runs = {
    'node:http, as before': () => fanOut(plain, WRITES.before),
    'node:http, as now': () => fanOut(plain, WRITES.now),
    'Express, as before': () => fanOut(viaExpress, WRITES.before),
    'Express, as now': () => fanOut(viaExpress, WRITES.now),
    'Express, to the socket': () => fanOut(viaExpress, WRITES.socket),
    'node:http, to the socket': () => fanOut(plain, WRITES.socket),
  };
  const cpu = new Map<string, number[]>();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, run] of Object.entries(runs)) {
      const micros = await run();
      // The first round warms up every variant.
      if (round > 0) cpu.set(name, [...(cpu.get(name) ?? []), micros / EVENTS / 1000]);
    }
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[values.length >> 1];
  console.log(
    `${STREAMS} streams, ${ROUNDS} rounds of ${EVENTS} events, in turns, load ` +
      `${loadavg()[0].toFixed(2)}; CPU ms an event (the writes, and this process reading them), median:`,
  );
  for (const [name, values] of cpu) console.log(`  ${name}: ${median(values).toFixed(2)}`);
  process.exit(0);
}

void main();

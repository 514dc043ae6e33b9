import { createServer, type Server } from 'node:net';

/**
 * Ports are drawn below Linux's ephemeral range (32768–60999 by default):
 * one found free there stays free until it is listened on, where an
 * ephemeral one could be taken meanwhile by any outgoing connection on the
 * machine, or by a listener on port 0.
 */
const LOW = 20_000;
const HIGH = 32_767;
const ATTEMPTS = 50;

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

/** `count` distinct TCP ports free on loopback right now (all held until all are found). */
export async function freePorts(count: number): Promise<number[]> {
  const probes: Server[] = [];
  try {
    const ports: number[] = [];
    while (ports.length < count) {
      const probe = createServer();
      const port = await listenOnFree(probe);
      probes.push(probe);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))));
  }
}

/** Listens on a free low port, else (all tried ports taken) on one the system picks. */
async function listenOnFree(probe: Server): Promise<number> {
  for (let attempt = 0; attempt <= ATTEMPTS; attempt++) {
    const wanted = attempt < ATTEMPTS ? LOW + Math.floor(Math.random() * (HIGH - LOW + 1)) : 0;
    const port = await new Promise<number | undefined>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) =>
        error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error);
      probe.once('error', onError);
      probe.listen(wanted, '127.0.0.1', () => {
        probe.off('error', onError);
        const address = probe.address();
        resolve(typeof address === 'object' && address ? address.port : undefined);
      });
    });
    if (port !== undefined) return port;
  }
  throw new Error('No free TCP port on loopback');
}

// Plain ESM on purpose: the global setup (global-setup.mjs) loads outside jest's transform, and the TS helpers
// (child-process.ts) re-export these.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A port nothing listens on now, for a child service to take.
 * @returns {Promise<number>}
 */
export function freePort() {
  return /** @type {Promise<number>} */ (listenOnce(0));
}

/**
 * A free port for a server a test stops and starts again on the same port (a restarted database, whose clients
 * keep its URL), or one that must still be free a moment later (the run's database, started after the
 * console's build). Taken below the kernel's range of ephemeral ports: inside it (where `freePort` and the old
 * random 50,000s land), any outgoing connection on the machine (another suite's, or the service's own
 * reconnects while the database is away) may hold the port as its local end when the server binds it, and
 * the start fails with "in use".
 * @returns {Promise<number>}
 */
export async function portToBindAgain() {
  const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  const lowest = Math.max(1_024, ephemeralFrom - 10_000);
  for (let tries = 0; tries < 20; tries += 1) {
    const port = lowest + Math.floor(Math.random() * (ephemeralFrom - lowest));
    if ((await listenOnce(port)) !== null) return port;
  }
  throw new Error(`no free port between ${lowest} and ${ephemeralFrom} after 20 tries`);
}

/**
 * Listens on `port` of 127.0.0.1 (0: any) and closes again: the port it got, or null when it was taken.
 * @param {number} port
 * @returns {Promise<number | null>}
 */
function listenOnce(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const address = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(address.port));
    });
  });
}

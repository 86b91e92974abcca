import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** How long shutdown lets requests in flight finish before their connections are cut. */
export const HTTP_DRAIN_TIMEOUT_MS = 10_000;

/**
 * Tracks requests from now on and returns the server's closer: stop accepting, close idle connections,
 * let requests in flight finish (each answered with `Connection: close`) for up to `drainMs`, then cut
 * what is left. Cutting at once would reset requests whose transaction may still commit, and a client
 * that retries without an idempotency key would then apply them twice.
 */
export function gracefulCloser(server: Server, drainMs = HTTP_DRAIN_TIMEOUT_MS): () => Promise<void> {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const askToClose = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    if (closing) askToClose(res);
    res.once('close', () => {
      inFlight.delete(res);
      // A response that had already sent its headers left a keep-alive connection behind: idle now, close it.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  return () =>
    new Promise<void>((resolve) => {
      closing = true;
      inFlight.forEach(askToClose);
      const deadline = setTimeout(() => server.closeAllConnections(), drainMs);
      server.close(() => {
        clearTimeout(deadline);
        resolve();
      });
      server.closeIdleConnections();
    });
}

/**
 * Liveness and readiness over HTTP for a long-running process (the subscriber's Kubernetes probes):
 * GET /healthz answers 200 while the process serves requests and has not stopped; GET /readyz answers
 * 200 while it does its work, 503 with the reason otherwise (draining, receives failing). Nothing else
 * is served: no data, no settings, nothing a caller could use.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A `--probe-port` argument: a port number 0-65535 (0: any free port), or undefined when it is not one. */
export function parseProbePort(raw: string): number | undefined {
  const port = Number(raw);
  return Number.isInteger(port) && port >= 0 && port <= 65_535 ? port : undefined;
}

export interface ProbeStatus {
  ok: boolean;
  /** Why not (or what it is doing), shown in the probe's answer. */
  detail: string;
}

export interface ProbeServerOptions {
  port: number;
  host: string;
  live(): ProbeStatus;
  ready(): ProbeStatus;
}

export interface ProbeServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startProbeServer(o: ProbeServerOptions): Promise<ProbeServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const check =
      req.method !== 'GET' && req.method !== 'HEAD'
        ? undefined
        : path === '/healthz'
          ? o.live
          : path === '/readyz'
            ? o.ready
            : undefined;
    if (!check) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const status = check();
    res.writeHead(status.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(
      req.method === 'HEAD'
        ? undefined
        : `${JSON.stringify({ status: status.ok ? 'ok' : 'unavailable', detail: status.detail })}\n`,
    );
  });
  // Probes are short requests: no keep-alive sockets that would hold up close().
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../log/logger.js';
import { problemResponse, problems } from './problem.js';
import { createAdminRouter, type AdminRouter } from './router.js';
import type { AdminContext, AdminRequest, AdminResponse, AdminRouterOptions } from './types.js';
import { errorMessage } from '../errors/message.js';

export interface AdminServerOptions {
  /** Default 7071 (the Functions host's local port, so `taskctl` finds it without --url). 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1: the admin API is not exposed beyond this machine unless asked. */
  host?: string;
  /** Path prefix (default "/api"). */
  prefix?: string;
  router?: Omit<AdminRouterOptions, 'basePath'>;
  logger?: Logger;
}

export interface AdminServer {
  server: Server;
  port: number;
  /** Base URL of the API, e.g. http://127.0.0.1:7071/api. */
  url: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

function isRouter(x: AdminContext | AdminRouter): x is AdminRouter {
  return typeof (x as AdminRouter).handle === 'function' && !('store' in x);
}

function readBody(req: IncomingMessage, max: number): Promise<string | undefined | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () =>
      resolve(over ? 'too-large' : chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined),
    );
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: AdminResponse): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

/**
 * The node:http request listener for the admin router under `prefix`: the local runtime mounts it
 * (or calls createAdminServer). It only translates; every decision is the router's.
 */
export function adminRequestListener(
  router: AdminRouter,
  opts: { prefix?: string; maxBodyBytes?: number; logger?: Logger } = {},
) {
  const prefix = (opts.prefix ?? '/api').replace(/\/+$/, '');
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const logger = opts.logger ?? silentLogger;
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
        send(res, problemResponse(problems.notFound('The admin API is under ' + prefix + '/.'), url.pathname));
        return;
      }
      const body = await readBody(req, max);
      if (body === 'too-large') {
        send(res, problemResponse(problems.tooLarge(max), url.pathname));
        return;
      }
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      const request: AdminRequest = {
        method: req.method ?? 'GET',
        path: url.pathname.slice(prefix.length) || '/',
        query,
        headers: req.headers,
        body,
      };
      send(res, await router.handle(request));
    })().catch((e: unknown) => {
      // The router answers every error itself; this is the adapter failing (socket closed mid-body, ...).
      logger.error('admin HTTP adapter failed', { error: errorMessage(e) });
      if (!res.headersSent) send(res, problemResponse(problems.internal(), '/'));
      else res.destroy();
    });
  };
}

/** Serves the admin API over node:http (the local runtime, tests, `taskctl` against a dev box). */
export async function createAdminServer(
  ops: AdminContext | AdminRouter,
  opts: AdminServerOptions = {},
): Promise<AdminServer> {
  const prefix = (opts.prefix ?? '/api').replace(/\/+$/, '');
  const maxBodyBytes = opts.router?.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const router = isRouter(ops) ? ops : createAdminRouter(ops, { ...opts.router, basePath: prefix });
  const server = createServer(
    adminRequestListener(router, { prefix, maxBodyBytes, ...(opts.logger ? { logger: opts.logger } : {}) }),
  );
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 7071, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port,
    url: `http://${shownHost}${port ? `:${port}` : ''}${prefix}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

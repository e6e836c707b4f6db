import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { AdminRouter } from '../../lib/admin/router.js';
import { adminRouterFor } from '../../lib/app/invocations.js';
import { sharedHostQueues } from '../../lib/app/host-queues.js';
import { services } from './services.js';

let router: Promise<AdminRouter> | undefined;

async function getRouter(): Promise<AdminRouter> {
  if (!router) {
    router = (async () => {
      const s = await services();
      // The ingest provider (Service Bus on Azure) and the dispatch queue: depth, dead letters, replay, POST /messages.
      const queues = await sharedHostQueues(s, { dispatch: true });
      // The Functions host checks function keys (authLevel "function") before this runs.
      return adminRouterFor(s, {
        queues: queues.all,
        ...(queues.enqueue ? { enqueue: queues.enqueue } : {}),
        router: { auth: 'platform', basePath: '/api' },
      });
    })();
    router.catch(() => {
      router = undefined;
    });
  }
  return router;
}

/** The operations API and dashboard: /api/{*path}. */
export async function admin(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? [...[query[k]!].flat(), v] : v;
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
  const res = await (
    await getRouter()
  ).handle({ method: request.method, path: url.pathname.replace(/^\/api(?=\/|$)/, '') || '/', query, headers, body });
  context.log(
    JSON.stringify({
      msg: 'admin request',
      method: request.method,
      path: url.pathname,
      status: res.status,
      invocationId: context.invocationId,
    }),
  );
  return { status: res.status, headers: res.headers, body: res.body };
}

app.http('admin', {
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'HEAD'],
  authLevel: 'function',
  route: '{*path}',
  handler: admin,
});

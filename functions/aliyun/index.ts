/**
 * Alibaba Cloud Function Compute 3.0 handlers (Node.js 20): `handler(event, context)`. Configure each
 * function's handler as dist/functions/aliyun/index.<name> (puller, processor, sweep, reclaimer, admin).
 * Configuration comes from environment variables (Section__Key); credentials from context.credentials.
 * No logic lives here: each handler parses its event and calls lib/app.
 */
import { invocationDeadline } from '../../lib/app/budget.js';
import { fcDispatcher, fcEndpoint, FcInvoker } from '../../lib/app/fc-invoker.js';
import {
  adminRouterFor,
  processInvocation,
  pullIngest,
  reclaimInvocation,
  type InvocationInfo,
} from '../../lib/app/invocations.js';
import { sharedServices, type AppServices } from '../../lib/app/services.js';
import { sharedHostQueues, type HostQueues } from '../../lib/app/host-queues.js';
import { noDispatch, type Dispatcher } from '../../lib/app/dispatch.js';
import { createQueueProvider } from '../../lib/queues/factory.js';
import type { MnsCredentials } from '../../lib/queues/mns/credentials.js';
import {
  eventJson,
  fcContextSchema,
  fcTimeoutMs,
  httpEventSchema,
  timerEventSchema,
  type FcContext,
  type HttpResult,
} from './event.js';

function services(): Promise<AppServices> {
  return sharedServices({ runtime: 'function-compute', serverSelectionTimeoutMs: 5_000 });
}

function info(ctx: FcContext): InvocationInfo {
  const instanceId = ctx.instanceID ?? process.env.FC_INSTANCE_ID;
  return {
    invocationId: ctx.requestId,
    functionName: ctx.function?.name ?? process.env.FC_FUNCTION_NAME ?? 'unknown',
    ...(instanceId ? { instanceId } : {}),
  };
}

function credentialsOf(ctx: FcContext): MnsCredentials | undefined {
  const c = ctx.credentials;
  return c?.accessKeyId && c.accessKeySecret
    ? {
        accessKeyId: c.accessKeyId,
        accessKeySecret: c.accessKeySecret,
        ...(c.securityToken ? { securityToken: c.securityToken } : {}),
      }
    : undefined;
}

function dispatcherFor(s: AppServices, ctx: FcContext): Dispatcher {
  const endpoint = fcEndpoint(s.config.FunctionCompute.Endpoint, process.env);
  const credentials = credentialsOf(ctx);
  if (!endpoint || !credentials) return noDispatch;
  const invoker = new FcInvoker({
    endpoint,
    credentials,
    functionName: s.config.FunctionCompute.ProcessorFunctionName,
    logger: s.logger,
  });
  return fcDispatcher(invoker, s.config.FunctionCompute.FanOut, s.logger);
}

/** Queues are created (with their dead-letter queue) once per instance, as the original .NET design creates them. */
let queuesEnsured = false;

/** Timer: pulls MNS until the queue is empty or the invocation's time is spent, then fans out processors. */
export async function puller(event: unknown, context: unknown) {
  const startedAt = Date.now();
  const ctx = fcContextSchema.parse(context);
  timerEventSchema.parse(eventJson(event));
  const s = await services();
  const credentials = credentialsOf(ctx);
  const provider = await createQueueProvider(s.config, {
    provider: 'mns',
    logger: s.logger,
    ...(credentials ? { extras: { mns: { credentials } } } : {}),
  });
  try {
    if (!queuesEnsured) {
      await provider.ensureQueues();
      queuesEnsured = true;
    }
    return await pullIngest(
      s,
      provider,
      { ...info(ctx), deadline: invocationDeadline(startedAt, fcTimeoutMs(ctx)) },
      dispatcherFor(s, ctx),
    );
  } finally {
    await provider.close();
  }
}

/** One worker invocation under the function's timeout; `checkEvent` validates the trigger's event. */
async function workerInvocation(event: unknown, context: unknown, checkEvent: (json: unknown) => unknown) {
  const startedAt = Date.now();
  const ctx = fcContextSchema.parse(context);
  checkEvent(eventJson(event));
  return processInvocation(await services(), {
    ...info(ctx),
    deadline: invocationDeadline(startedAt, fcTimeoutMs(ctx)),
  });
}

/** Asynchronous invocation (from the puller's fan-out): one worker invocation. */
export async function processor(event: unknown, context: unknown) {
  return workerInvocation(event, context, () => undefined); // a wake-up; its content is informational
}

/** Timer: the sweep (retries that came due, tasks no wake-up reached). */
export async function sweep(event: unknown, context: unknown) {
  return workerInvocation(event, context, (json) => timerEventSchema.parse(json));
}

/**
 * The MNS queue this instance operates on (depth, dead letters, replay, POST /api/messages), built with
 * the invocation's STS credentials and observed by the queue gauges; a rotated token opens a new one.
 */
function hostQueues(s: AppServices, ctx: FcContext): Promise<HostQueues> {
  const credentials = credentialsOf(ctx);
  return sharedHostQueues(s, {
    dispatch: false, // processors are woken by asynchronous invocations, not a queue
    ...(credentials
      ? { key: credentials.securityToken ?? credentials.accessKeyId, extras: { mns: { credentials } } }
      : {}),
  });
}

/** Timer: one reclaimer pass (its backlog log line feeds the SLS alerts). */
export async function reclaimer(event: unknown, context: unknown) {
  const ctx = fcContextSchema.parse(context);
  timerEventSchema.parse(eventJson(event));
  const s = await services();
  await hostQueues(s, ctx);
  return reclaimInvocation(s, info(ctx));
}

let adminRouter: { queues: HostQueues; router: ReturnType<typeof adminRouterFor> } | undefined;

/** HTTP trigger: the operations API; the key in Admin:ApiKey is checked by the router (x-functions-key or ?code=). */
export async function admin(event: unknown, context: unknown): Promise<HttpResult> {
  const ctx = fcContextSchema.parse(context);
  const e = httpEventSchema.parse(eventJson(event));
  const s = await services();
  const queues = await hostQueues(s, ctx);
  if (adminRouter?.queues !== queues) {
    const router = adminRouterFor(s, {
      queues: queues.all,
      ...(queues.enqueue ? { enqueue: queues.enqueue } : {}),
      router: { auth: 'key', basePath: '/api' },
    });
    adminRouter = { queues, router };
  }
  const body = e.isBase64Encoded ? Buffer.from(e.body, 'base64').toString('utf8') : e.body;
  const method = e.requestContext.http.method.toUpperCase();
  const res = await adminRouter.router.handle({
    method,
    path: e.rawPath.replace(/^\/api(?=\/|$)/, '') || '/',
    query: e.queryParameters,
    headers: e.headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  });
  return { statusCode: res.status, headers: res.headers, isBase64Encoded: false, body: res.body };
}

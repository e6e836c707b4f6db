import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { redactConnectionString } from '../config/redact.js';
import { silentLogger } from '../log/logger.js';
import { TaskNotFoundError, TaskStateError, VersionConflictError, isTransientDbError } from '../store/errors.js';
import { DEFAULT_MAX_TASK_BYTES } from '../tasks/input-limits.js';
import { statusName } from '../tasks/status.js';
import { InvalidTransitionError } from '../tasks/transitions.js';
import { keyMatches, presentedKey } from './auth.js';
import { loginPage } from './dashboard/page.js';
import { HttpProblem, fromZodError, problemResponse, problems } from './problem.js';
import { compilePath, type ResolvedOptions, type Route } from './route.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { healthRoutes } from './routes/health.js';
import { messageRoutes } from './routes/messages.js';
import { orderingRoutes } from './routes/ordering.js';
import { queueRoutes } from './routes/queues.js';
import { statsRoutes } from './routes/stats.js';
import { taskRoutes } from './routes/tasks.js';
import { taskTypeRoutes } from './routes/task-types.js';
import { workerRoutes } from './routes/workers.js';
import type { AdminContext, AdminRequest, AdminResponse, AdminRouterOptions } from './types.js';

export interface AdminRouter {
  handle(req: AdminRequest): Promise<AdminResponse>;
}

const allRoutes: readonly Route[] = [
  ...healthRoutes,
  ...taskRoutes,
  ...taskTypeRoutes,
  ...statsRoutes,
  ...workerRoutes,
  ...queueRoutes,
  ...deadLetterRoutes,
  ...messageRoutes,
  ...orderingRoutes,
  ...dashboardRoutes,
];
const compiled = allRoutes.map((route) => ({ route, ...compilePath(route.path) }));

/** Every route as "METHOD /path" (tests check each one refuses a request without a valid key). */
export const adminRouteTable: readonly string[] = allRoutes.map((r) => `${r.method} ${r.path}`);

/** Headers on every response: nothing is cacheable (it is live state, and some of it sensitive). */
const commonHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function resolveOptions(o: AdminRouterOptions): ResolvedOptions {
  return {
    auth: o.auth ?? 'key',
    basePath: (o.basePath ?? '/api').replace(/\/+$/, ''),
    workerStaleAfterMs: o.workerStaleAfterMs ?? 300_000,
    reclaimerStaleAfterMs: o.reclaimerStaleAfterMs,
    dependencyTimeoutMs: o.dependencyTimeoutMs ?? 5_000,
    maxBodyBytes: o.maxBodyBytes ?? 1024 * 1024,
    maxTaskBytes: o.maxTaskBytes ?? DEFAULT_MAX_TASK_BYTES,
  };
}

/** Known failures as problems; anything else is a 500 whose details go to the log only. */
function toProblem(e: unknown): HttpProblem | undefined {
  if (e instanceof HttpProblem) return e;
  if (e instanceof z.ZodError) return fromZodError(e, 'body');
  if (e instanceof TaskNotFoundError) return problems.notFound(`No task ${e.taskId}.`);
  if (e instanceof VersionConflictError) {
    return problems.conflict('version-conflict', e.message, {
      taskVersion: e.actualVersion,
      ...(e.actualStatus !== undefined
        ? { taskStatus: e.actualStatus, taskStatusName: statusName(e.actualStatus) }
        : {}),
    });
  }
  if (e instanceof TaskStateError)
    return problems.conflict('invalid-state', e.message, {
      taskStatus: e.status,
      taskStatusName: statusName(e.status),
    });
  if (e instanceof InvalidTransitionError) return problems.conflict('invalid-transition', e.message);
  if (isTransientDbError(e)) return problems.unavailable('The database is not reachable right now; try again.');
  return undefined;
}

function normalizePath(path: string): string {
  const p = `/${path.replace(/^\/+/, '')}`.replace(/\/+$/, '');
  return p === '' ? '/' : p;
}

/**
 * The admin API, independent of any HTTP server: a request in, a response out. Checks the key before
 * anything else (unless the platform did), so a request without a valid key reads and changes nothing,
 * whatever its route.
 */
export function createAdminRouter(ctx: AdminContext, options: AdminRouterOptions = {}): AdminRouter {
  const opts = resolveOptions(options);
  const logger = ctx.logger ?? silentLogger;
  let warnedNoKey = false;

  async function dispatch(req: AdminRequest, path: string, instance: string): Promise<AdminResponse> {
    if (opts.auth === 'key' && !keyMatches(presentedKey(req), ctx.apiKey)) {
      if (!ctx.apiKey && !warnedNoKey) {
        warnedNoKey = true;
        logger.warn('admin API: Admin:ApiKey is not set, so every request is refused (set Admin__ApiKey)');
      }
      if (req.method === 'GET' && path === '/dashboard') {
        // A small page asking for the key; it holds no data.
        const nonce = randomBytes(16).toString('base64');
        return loginPage({ nonce, invalid: presentedKey(req) !== undefined });
      }
      return problemResponse(problems.unauthorized(), instance);
    }
    const candidates = compiled.flatMap((c) => {
      const m = c.regex.exec(path);
      return m ? [{ ...c, match: m }] : [];
    });
    if (candidates.length === 0) return problemResponse(problems.notFound(`No route ${path}.`), instance);
    const hit = candidates.find((c) => c.route.method === req.method.toUpperCase());
    if (!hit)
      return problemResponse(problems.methodNotAllowed([...new Set(candidates.map((c) => c.route.method))]), instance);
    const params: Record<string, string> = {};
    for (const [i, name] of hit.names.entries()) {
      try {
        params[name] = decodeURIComponent(hit.match[i + 1]!);
      } catch {
        return problemResponse(
          problems.badRequest(`The path parameter ${name} is not valid percent-encoding.`),
          instance,
        );
      }
    }
    return hit.route.handle({ req, params, ctx, options: opts, logger, now: ctx.now?.() ?? new Date() });
  }

  return {
    async handle(req) {
      const path = normalizePath(req.path);
      const instance = `${opts.basePath}${path}`;
      let res: AdminResponse;
      try {
        res = await dispatch(req, path, instance);
      } catch (e) {
        const problem = toProblem(e);
        if (!problem || problem.status >= 500) {
          // The path only: the query may hold the key (?code=).
          logger.error('admin API request failed', {
            method: req.method,
            path: instance,
            error:
              e instanceof Error
                ? { name: e.name, message: redactConnectionString(e.message), stack: e.stack }
                : String(e),
          });
        }
        res = problemResponse(problem ?? problems.internal(), instance);
      }
      return { ...res, headers: { ...commonHeaders, ...res.headers } };
    },
  };
}

import { redactConnectionString } from '../../config/redact.js';
import { healthWithin } from '../../telemetry/metrics.js';
import { json } from '../http.js';
import type { Route, RouteInput } from '../route.js';
import { errorMessage } from '../../errors/message.js';

interface Check {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

/** Resolves with the check's outcome; a failure or timeout becomes { ok: false, error } (redacted). */
async function timed(fn: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  const began = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - began) };
  } catch (e) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - began),
      error: redactConnectionString(errorMessage(e)),
    };
  } finally {
    clearTimeout(timer);
  }
}

async function reclaimerCheck({ ctx, options, now }: RouteInput) {
  if (!ctx.reclaimerStatus) return { ok: true, configured: false as const };
  try {
    const status = await ctx.reclaimerStatus();
    if (!status)
      return {
        ok: options.reclaimerStaleAfterMs === undefined,
        configured: true as const,
        lastRunAt: null,
        ageMs: null,
        summary: null,
      };
    const ageMs = Math.max(0, now.getTime() - status.lastRunAt.getTime());
    const ok = options.reclaimerStaleAfterMs === undefined || ageMs <= options.reclaimerStaleAfterMs;
    return { ok, configured: true as const, lastRunAt: status.lastRunAt, ageMs, summary: status.summary ?? null };
  } catch (e) {
    return { ok: false, configured: true as const, error: redactConnectionString(errorMessage(e)) };
  }
}

export const healthRoutes: Route[] = [
  {
    method: 'GET',
    path: '/health',
    async handle(input) {
      const { ctx, options, now } = input;
      // A point read by _id: cheap, and it goes through the same client the store uses.
      const ping = ctx.ping ?? (async () => void (await ctx.store.get('__health__')));
      const [database, queues, reclaimer] = await Promise.all([
        timed(ping, options.dependencyTimeoutMs),
        Promise.all(ctx.queues.map((p) => healthWithin(p, options.dependencyTimeoutMs))),
        reclaimerCheck(input),
      ]);
      const queueChecks = queues.map((h) => ({
        provider: h.provider,
        queue: h.queue,
        ok: h.reachable,
        ...(h.error ? { error: redactConnectionString(h.error) } : {}),
      }));
      const healthy = database.ok && queueChecks.every((q) => q.ok) && reclaimer.ok;
      return json(healthy ? 200 : 503, {
        status: healthy ? 'healthy' : 'unhealthy',
        at: now,
        checks: { database, queues: queueChecks, reclaimer },
      });
    },
  },
];

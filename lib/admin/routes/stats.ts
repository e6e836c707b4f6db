import { z } from 'zod';
import { allStatuses, statusName } from '../../tasks/status.js';
import { json, parseQuery } from '../http.js';
import type { Route } from '../route.js';
import { orderingKeyView } from './ordering.js';
import { liveWorkerStates } from '../../worker-registry/queries.js';

const statsQuery = z.strictObject({
  /** Throughput window in minutes (default the last hour). */
  minutes: z.coerce.number().int().min(1).max(1440).default(60),
});

const BLOCKED_KEYS_SHOWN = 20;

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

export const statsRoutes: Route[] = [
  {
    method: 'GET',
    path: '/stats',
    async handle({ req, ctx, options, now }) {
      const q = parseQuery(req, statsQuery);
      const [stats, throughput, live, blocked] = await Promise.all([
        ctx.store.stats(now),
        ctx.store.throughput(q.minutes * 60_000, now),
        ctx.workers.list({ state: liveWorkerStates, limit: 1000 }),
        ctx.store.orderingKeys({ blocked: true, limit: BLOCKED_KEYS_SHOWN }),
      ]);
      // Served: a type a live, fresh worker handles, or one this deployment's own handlers declare (its
      // serverless processors start on demand, so no worker record need be live between invocations).
      const fresh = live.filter((w) => now.getTime() - w.lastHeartbeatAt.getTime() <= options.workerStaleAfterMs);
      const served = new Set([...fresh.flatMap((w) => w.types), ...(ctx.taskTypes?.declared ?? [])]);
      const waitingWithoutWorker = Object.entries(stats.waitingByType ?? {})
        .filter(([type]) => !served.has(type))
        .map(([type, count]) => ({ type, count }))
        .sort((a, b) => b.count - a.count);
      const t = throughput.totals;
      const finished = t.succeeded + t.failed;
      return json(200, {
        at: now,
        total: stats.total,
        counts: stats.counts,
        statuses: allStatuses.map((s) => ({ status: s, name: statusName(s), count: stats.counts[statusName(s)] ?? 0 })),
        oldestClaimableAgeMs: stats.oldestClaimableAgeMs,
        /** Ordering keys blocked by a task that failed for good (Ordering:OnFailure=block), the first few by key. */
        blockedOrderingKeys: blocked.map(orderingKeyView),
        /** Tasks waiting for a type no live worker (and no handler of this deployment) handles: they would wait forever. */
        waitingWithoutWorker,
        throughput: {
          since: throughput.since,
          until: throughput.until,
          bucketMs: throughput.bucketMs,
          buckets: throughput.buckets,
          totals: t,
          perMinute: { succeeded: t.succeeded / q.minutes, failed: t.failed / q.minutes },
        },
        rates: {
          /** Of the tasks that finished in the window (succeeded or failed for good), the share that failed. */
          failureRate: ratio(t.failed, finished),
          /** Of all tasks that finished in the window (cancelled too), the share that needed more than one attempt. */
          retryRate: ratio(t.retried, finished + t.cancelled),
        },
      });
    },
  },
];

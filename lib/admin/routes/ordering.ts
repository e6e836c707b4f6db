import { z } from 'zod';
import { orderingKeySchema } from '../../ingest/contract.js';
import type { OrderingKeyState } from '../../store/task-store.js';
import { json, parseQuery } from '../http.js';
import { fromZodError, problems } from '../problem.js';
import type { Route } from '../route.js';

const keysQuery = z.strictObject({
  blocked: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** JSON shape of an ordering key. */
export const orderingKeyView = (k: OrderingKeyState) => ({
  key: k.key,
  activeTaskId: k.activeTaskId,
  blocked: k.blocked,
  seq: k.seq,
  updatedAt: k.updatedAt,
});

function keyParam(params: Record<string, string>): string {
  const r = orderingKeySchema.safeParse(params.key);
  if (!r.success) throw fromZodError(r.error, 'path');
  return r.data;
}

/** Ordering keys (tasks of one key run one at a time, in ingest order): list them, unblock a blocked one. */
export const orderingRoutes: Route[] = [
  {
    method: 'GET',
    path: '/ordering-keys',
    async handle({ req, ctx }) {
      const q = parseQuery(req, keysQuery);
      const keys = await ctx.store.orderingKeys({ blocked: q.blocked === 'true', limit: q.limit });
      return json(200, { items: keys.map(orderingKeyView) });
    },
  },
  {
    method: 'POST',
    path: '/ordering-keys/{key}/unblock',
    async handle({ params, ctx }) {
      const key = keyParam(params);
      const r = await ctx.store.unblockKey(key, { by: 'admin-api' });
      if (r.outcome === 'not-found') throw problems.notFound(`Ordering key "${key}" has no tasks.`);
      if (r.outcome === 'not-blocked')
        throw problems.conflict('key-not-blocked', `Ordering key "${key}" is not blocked.`, {
          key: r.state && orderingKeyView(r.state),
        });
      return json(200, { outcome: r.outcome, key: r.state && orderingKeyView(r.state) });
    },
  },
];

import { z } from 'zod';
import { workerStates } from '../../worker-registry/model.js';
import { json, listParam, parseQuery } from '../http.js';
import type { Route } from '../route.js';
import { workerView } from '../views.js';

const workersQuery = z.strictObject({
  state: listParam.pipe(z.array(z.enum(workerStates))).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const workerRoutes: Route[] = [
  {
    method: 'GET',
    path: '/workers',
    async handle({ req, ctx, options, now }) {
      const q = parseQuery(req, workersQuery, ['state']);
      const workers = await ctx.workers.list({ limit: q.limit, ...(q.state?.length ? { state: q.state } : {}) });
      return json(200, {
        items: workers.map((w) => workerView(w, now, options.workerStaleAfterMs)),
        staleAfterMs: options.workerStaleAfterMs,
      });
    },
  },
];

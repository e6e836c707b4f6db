import { json } from '../http.js';
import type { Route } from '../route.js';

export const taskTypeRoutes: Route[] = [
  {
    method: 'GET',
    path: '/task-types',
    async handle({ ctx }) {
      const rule = ctx.taskTypes;
      return json(200, { known: rule?.known ?? null, allowUnknown: rule ? rule.allowUnknown : true });
    },
  },
];

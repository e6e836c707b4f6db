import { randomBytes } from 'node:crypto';
import { dashboardPage } from '../dashboard/page.js';
import type { Route } from '../route.js';

export const dashboardRoutes: Route[] = [
  {
    method: 'GET',
    path: '/dashboard',
    async handle({ options }) {
      // A fresh nonce per response: the page's one script and one stylesheet are the only ones allowed to run.
      return dashboardPage({ nonce: randomBytes(16).toString('base64'), basePath: options.basePath });
    },
  },
];

export { createAdminRouter, adminRouteTable, type AdminRouter } from './router.js';
export { createAdminServer, adminRequestListener, type AdminServer, type AdminServerOptions } from './node-http.js';
export { keyMatches, presentedKey } from './auth.js';
export { HttpProblem, PROBLEM_CONTENT_TYPE, problemType, type InvalidParam } from './problem.js';
export { replayDeadLetters, type ReplayResult } from './routes/queues.js';
export type { AdminContext, AdminRequest, AdminResponse, AdminRouterOptions, ReclaimerStatus } from './types.js';
export type { TaskDetailView, TaskSummaryView, WorkerView } from './views.js';

import { app, type InvocationContext, type Timer } from '@azure/functions';
import { reclaimInvocation } from '../../lib/app/invocations.js';
import { sharedHostQueues } from '../../lib/app/host-queues.js';
import { schedules } from '../../lib/app/catalog.js';
import type { ReclaimerSummary } from '../../lib/reclaimer/summary.js';
import { invocationInfo, services } from './services.js';

export async function reclaimer(_timer: Timer, context: InvocationContext): Promise<ReclaimerSummary> {
  const s = await services();
  // An instance that runs timers and no admin request observes the queue gauges too.
  await sharedHostQueues(s, { dispatch: true });
  return reclaimInvocation(s, invocationInfo(context));
}

app.timer('reclaimer', { schedule: schedules.reclaimer, handler: reclaimer });

import { app, type InvocationContext, type Timer } from '@azure/functions';
import { reclaimInvocation } from '../../lib/app/invocations.js';
import { schedules } from '../../lib/app/catalog.js';
import type { ReclaimerSummary } from '../../lib/reclaimer/summary.js';
import { invocationInfo, services } from './services.js';

export async function reclaimer(_timer: Timer, context: InvocationContext): Promise<ReclaimerSummary> {
  return reclaimInvocation(await services(), invocationInfo(context));
}

app.timer('reclaimer', { schedule: schedules.reclaimer, handler: reclaimer });

import { app, type InvocationContext, type Timer } from '@azure/functions';
import { azureFunctionTimeoutMs, invocationDeadline } from '../../lib/app/budget.js';
import { processInvocation } from '../../lib/app/invocations.js';
import { schedules } from '../../lib/app/catalog.js';
import type { WorkerSummary } from '../../lib/worker/worker-options.js';
import { invocationInfo, services } from './services.js';

const timeoutMs = azureFunctionTimeoutMs();

async function run(context: InvocationContext): Promise<WorkerSummary> {
  const startedAt = Date.now();
  const s = await services();
  return processInvocation(s, { ...invocationInfo(context), deadline: invocationDeadline(startedAt, timeoutMs) });
}

/** Woken by the dispatch queue: one wake-up per batch ingest stored. The message itself carries nothing needed. */
export async function processorDispatch(_message: unknown, context: InvocationContext): Promise<WorkerSummary> {
  return run(context);
}

/** The sweep: retries that came due, and tasks no wake-up reached. */
export async function processorSweep(_timer: Timer, context: InvocationContext): Promise<WorkerSummary> {
  return run(context);
}

app.storageQueue('processor-dispatch', {
  connection: 'AzureWebJobsStorage',
  queueName: '%AzureStorage__DispatchQueueName%',
  handler: processorDispatch,
});

app.timer('processor-sweep', { schedule: schedules.processorSweep, handler: processorSweep });

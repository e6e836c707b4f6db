import type { InvocationContext } from '@azure/functions';
import { sharedServices, type AppServices } from '../../lib/app/services.js';
import type { InvocationInfo } from '../../lib/app/invocations.js';
import { dispatchTarget } from '../../lib/app/dispatch.js';
import { dispatcher } from './dispatch.js';

/**
 * The process-wide services, built from the app settings on the first invocation. Every task that
 * becomes claimable here also wakes processors through the dispatch queue (set once it is reachable).
 */
export async function services(): Promise<AppServices> {
  const s = await sharedServices({ runtime: 'azure-functions', serverSelectionTimeoutMs: 5_000 });
  if (!dispatchSet.has(s)) {
    try {
      s.wake.setTarget('dispatch', dispatchTarget(await dispatcher(s)));
      dispatchSet.add(s);
    } catch (e) {
      s.logger.warn('dispatch queue unreachable; processors wake by the sweep until it is', { err: e });
    }
  }
  return s;
}

const dispatchSet = new WeakSet<AppServices>();

export function invocationInfo(context: InvocationContext): InvocationInfo {
  return {
    invocationId: context.invocationId,
    functionName: context.functionName,
    ...(process.env.WEBSITE_INSTANCE_ID ? { instanceId: process.env.WEBSITE_INSTANCE_ID } : {}),
  };
}

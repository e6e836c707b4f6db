import type { InvocationContext } from '@azure/functions';
import { sharedServices, type AppServices } from '../../lib/app/services.js';
import type { InvocationInfo } from '../../lib/app/invocations.js';

/** The process-wide services, built from the app settings on the first invocation. */
export function services(): Promise<AppServices> {
  return sharedServices({ runtime: 'azure-functions', serverSelectionTimeoutMs: 5_000 });
}

export function invocationInfo(context: InvocationContext): InvocationInfo {
  return {
    invocationId: context.invocationId,
    functionName: context.functionName,
    ...(process.env.WEBSITE_INSTANCE_ID ? { instanceId: process.env.WEBSITE_INSTANCE_ID } : {}),
  };
}

import type { AppConfig } from '../../config/load.js';
import type { Logger } from '../../log/logger.js';
import type { QueueProviderDefinition } from '../provider.js';
import type { RedeliveryBackoff } from '../redelivery.js';
import { resolveMnsAccount, resolveMnsCredentials, type MnsCredentials } from './credentials.js';
import { MnsQueueProvider } from './provider.js';

export { MnsQueueProvider } from './provider.js';
export { mnsQueueName, type MnsProviderOptions } from './options.js';
export {
  resolveMnsCredentials,
  resolveMnsAccount,
  fromFunctionComputeContext,
  type MnsCredentials,
  type FunctionComputeCredentials,
} from './credentials.js';
export { encodeMnsBody, xmlEscapeText } from './body-codec.js';

export interface CreateMnsProviderOptions {
  /** Explicit credentials (e.g. Function Compute's context.credentials); win over the settings. */
  credentials?: MnsCredentials;
  /** Fresh STS credentials when the current ones age (Function Compute rotates them). */
  refreshCredentials?: () => Promise<MnsCredentials>;
  /** Environment to read Function Compute's STS variables from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides Aliyun:QueueName / Aliyun:DeadLetterQueueName. */
  queueName?: string;
  deadLetterQueueName?: string;
  visibilityTimeoutMs?: number;
  maxMessageBytes?: number;
  redelivery?: RedeliveryBackoff;
  logger?: Logger;
}

/** What a host may pass the MNS provider: Function Compute's per-invocation credentials. */
export type MnsExtras = Omit<CreateMnsProviderOptions, 'logger' | 'visibilityTimeoutMs' | 'redelivery'>;

declare module '../provider.js' {
  interface QueueProviderExtras {
    mns?: MnsExtras;
  }
}

/** The registered provider `mns` (see lib/queues/factory.ts). */
export const queueProvider: QueueProviderDefinition<'mns'> = {
  name: 'mns',
  create: (settings, o) =>
    createMnsProvider(settings, {
      ...o.extras,
      ...(o.queueName ? { queueName: o.queueName } : {}),
      visibilityTimeoutMs: o.visibilityTimeoutMs,
      redelivery: o.redelivery,
      ...(o.logger ? { logger: o.logger } : {}),
    }),
};

/** The MNS provider configured from the Aliyun section (the keys of the original .NET design). */
export function createMnsProvider(
  settings: AppConfig['Aliyun'],
  opts: CreateMnsProviderOptions = {},
): MnsQueueProvider {
  const { accountId, endpoint } = resolveMnsAccount(settings);
  const credentials = resolveMnsCredentials(settings, {
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  return new MnsQueueProvider({
    accountId,
    endpoint,
    credentials,
    ...(opts.refreshCredentials ? { refreshCredentials: opts.refreshCredentials } : {}),
    queueName: opts.queueName ?? settings.QueueName,
    deadLetterQueueName: opts.deadLetterQueueName ?? settings.DeadLetterQueueName,
    maxReceiveCount: settings.MaxReceiveCount,
    ...(opts.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
    ...(opts.maxMessageBytes !== undefined ? { maxMessageBytes: opts.maxMessageBytes } : {}),
    ...(opts.redelivery ? { redelivery: opts.redelivery } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}

/** Building the Service Bus provider from the AzureServiceBus section. */
import type { TokenCredential } from '@azure/identity';
import type { RetryOptions } from '@azure/service-bus';
import { silentLogger, type Logger } from '../../log/logger.js';
import { createAdministrationClient, createServiceBusClient, resolveServiceBusAuth } from './client.js';
import { entityOf, type ServiceBusSettings } from './entities.js';
import { providerKind } from './errors.js';
import { ServiceBusLinks } from './links.js';
import { ServiceBusQueueProvider } from './provider.js';

export interface ServiceBusProviderOptions {
  logger?: Logger;
  /** Credential for role-based access instead of DefaultAzureCredential (e.g. a ManagedIdentityCredential with a client id). */
  credential?: TokenCredential;
  /** The SDK's retry policy (attempts, delays, per-operation timeout); default: the SDK's. */
  retry?: RetryOptions;
  /** Use the HTTPS management endpoint for ensureQueues() and health(). Default: yes, except on the development emulator. */
  administration?: boolean;
  /** How many messages health() peeks at most when it has no management endpoint (default 1000). */
  healthPeekLimit?: number;
  /** Session entities: how long receive() waits on the current session before moving to the next one (default 1 s). */
  sessionIdleTimeoutMs?: number;
  /** How long close() waits for each SDK close step before going on (default 10 s). */
  closeTimeoutMs?: number;
}

/**
 * Builds the provider from the `AzureServiceBus` configuration section. Throws ConfigError when the
 * section names no entity or no way to authenticate (see ./client.ts).
 */
export function createServiceBusProvider(
  config: ServiceBusSettings,
  opts: ServiceBusProviderOptions = {},
): ServiceBusQueueProvider {
  const auth = resolveServiceBusAuth(config, opts.credential);
  const entity = entityOf(config);
  const client = createServiceBusClient(auth, opts.retry ? { retryOptions: opts.retry } : {});
  const admin = opts.administration === false ? undefined : createAdministrationClient(auth);
  const settings = {
    entity,
    maxConcurrentCalls: config.MaxConcurrentCalls,
    prefetchCount: config.PrefetchCount,
    maxAutoLockRenewalDurationMs: config.MaxAutoLockRenewalDuration,
    maxDeliveryCount: config.MaxDeliveryCount,
    requiresSession: config.RequiresSession,
    enablePartitioning: config.EnablePartitioning,
    healthPeekLimit: opts.healthPeekLimit ?? 1000,
    sessionIdleTimeoutMs: opts.sessionIdleTimeoutMs ?? 1000,
    closeTimeoutMs: opts.closeTimeoutMs ?? 10_000,
  };
  const log = (opts.logger ?? silentLogger).child({ provider: providerKind, queue: entity.path });
  return new ServiceBusQueueProvider(new ServiceBusLinks(client, settings, admin, auth.secrets, log));
}

/**
 * Chooses and configures the queue provider from the settings (Ingest:Provider).
 *
 * The providers are registered in lib/config/sections/queue-providers.ts (name and settings section);
 * a provider's code is the folder of the same name beside this file, whose index.ts exports
 * `queueProvider` (a QueueProviderDefinition). Only the selected provider's folder is imported, on
 * demand: a Function Compute deployment reading MNS never loads the Azure SDKs, and the other way round
 * (cold starts). Nothing here names a provider but the dispatch queue's, which is always a Storage queue.
 */
import type { AppConfig } from '../config/load.js';
import {
  queueProviders,
  type QueueProviderName,
  type QueueProviderSectionName,
} from '../config/sections/queue-providers.js';
import type { Logger } from '../log/logger.js';
import type { QueueProvider, QueueProviderDefinition, QueueProviderExtras } from './provider.js';

/** The configured provider's module could not be loaded (not installed or not built into this deployment). */
export class QueueProviderUnavailableError extends Error {
  constructor(
    readonly provider: string,
    options?: { cause?: unknown },
  ) {
    super(
      `queue provider "${provider}" (Ingest:Provider) is not available in this build: ${options?.cause instanceof Error ? options.cause.message : 'its module could not be loaded'}`,
      options,
    );
    this.name = 'QueueProviderUnavailableError';
  }
}

export interface CreateQueueProviderOptions {
  /** The ingest queue (default), or the dispatch queue that wakes processors (always a Storage queue). */
  queue?: 'ingest' | 'dispatch';
  /** Another queue of the provider than its configured one (the task dead-letter queue, DeadLetter:Queue). */
  queueName?: string;
  /** Overrides Ingest:Provider. */
  provider?: QueueProviderName;
  logger?: Logger;
  /** Options only one provider understands, by provider name (e.g. `{ mns: { credentials } }`). */
  extras?: QueueProviderExtras;
}

/** What the factory reads: the Ingest section and every provider's section. */
export type QueueProviderConfig = Pick<AppConfig, 'Ingest' | QueueProviderSectionName>;

/** Visibility of received messages: Ingest:VisibilityTimeout, else the message time limit plus a margin. */
export function ingestVisibilityTimeoutMs(ingest: AppConfig['Ingest']): number {
  return ingest.VisibilityTimeout ?? ingest.MessageTimeout + 30_000;
}

export async function createQueueProvider(
  config: QueueProviderConfig,
  opts: CreateQueueProviderOptions = {},
): Promise<QueueProvider> {
  const name: QueueProviderName =
    opts.queue === 'dispatch' ? 'storage-queue' : (opts.provider ?? config.Ingest.Provider);
  return build(name, config, opts);
}

async function build<N extends QueueProviderName>(
  name: N,
  config: QueueProviderConfig,
  opts: CreateQueueProviderOptions,
): Promise<QueueProvider> {
  const definition = await loadQueueProvider(name);
  const settings = config[queueProviders[name].section.name];
  const extras = opts.extras?.[name as N & keyof QueueProviderExtras];
  return definition.create(settings as Parameters<typeof definition.create>[0], {
    queue: opts.queue ?? 'ingest',
    ...(opts.queueName ? { queueName: opts.queueName } : {}),
    visibilityTimeoutMs: ingestVisibilityTimeoutMs(config.Ingest),
    redelivery: { baseMs: config.Ingest.RetryBaseDelay, capMs: config.Ingest.RetryMaxDelay },
    maxDeliveryCount: config.Ingest.MaxDeliveryCount,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(extras ? { extras } : {}),
  });
}

/** Imports lib/queues/<name>/ and returns the provider it defines; only that folder (and its SDK) is loaded. */
export async function loadQueueProvider<N extends QueueProviderName>(name: N): Promise<QueueProviderDefinition<N>> {
  let module: unknown;
  try {
    // The folder is named for the provider (a registered name, never user text).
    module = await import(/* @vite-ignore */ `./${name}/index.js`);
  } catch (e) {
    throw new QueueProviderUnavailableError(name, { cause: e });
  }
  const definition = (module as { queueProvider?: Partial<QueueProviderDefinition<N>> }).queueProvider;
  if (definition?.name !== name || typeof definition.create !== 'function') {
    throw new QueueProviderUnavailableError(name, {
      cause: new Error(`lib/queues/${name}/index exports no queueProvider named "${name}"`),
    });
  }
  return definition as QueueProviderDefinition<N>;
}

/**
 * Ingest: queue messages in, tasks out. See pipeline.ts for the flow and docs/message-contract.md for
 * what a message must hold.
 */
import type { AppConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { QueueProvider } from '../queues/provider.js';
import type { TaskStore } from '../store/task-store.js';
import { IngestPipeline, type IngestPipelineOptions } from './pipeline.js';

export { IngestPipeline } from './pipeline.js';
export type {
  IngestPipelineOptions, IngestCounts, PullResult, PullUntilResult, PushedMessage, PushOutcome, PushResult,
} from './pipeline.js';
export { decodeMessage, INVALID_MESSAGE_TYPE, type DecodeOptions, type Rejection } from './decode.js';
export { messageEnvelopeSchema, taskTypeSchema, rejectionCodes, type MessageEnvelope, type MessageEnvelopeInput, type RejectionCode } from './contract.js';
export { IngestStoreError } from './errors.js';

export interface CreateIngestPipelineDeps {
  store: Pick<TaskStore, 'ingest'>;
  provider?: QueueProvider;
  /** Overrides Ingest:KnownTaskTypes (e.g. the processors' registered handlers). */
  knownTaskTypes?: readonly string[];
  onTasksStored?: (count: number) => Promise<void> | void;
  logger?: Logger;
}

/** The pipeline configured from the Ingest section. */
export function createIngestPipeline(config: Pick<AppConfig, 'Ingest'>, deps: CreateIngestPipelineDeps): IngestPipeline {
  const s = config.Ingest;
  const known = deps.knownTaskTypes ?? s.KnownTaskTypes;
  const options: IngestPipelineOptions = {
    store: deps.store,
    ...(deps.provider ? { provider: deps.provider } : {}),
    batchSize: s.BatchSize,
    concurrency: s.Concurrency,
    messageTimeoutMs: s.MessageTimeout,
    receiveWaitMs: s.ReceiveWaitTime,
    maxBodyBytes: s.MaxBodyBytes,
    retry: { attempts: s.RetryAttempts, baseDelayMs: s.RetryBaseDelay, maxDelayMs: s.RetryMaxDelay },
    taskTypeProperty: s.TaskTypeProperty,
    ...(s.DefaultTaskType ? { defaultTaskType: s.DefaultTaskType } : {}),
    ...(known ? { knownTaskTypes: known } : {}),
    ...(deps.onTasksStored ? { onTasksStored: deps.onTasksStored } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
  return new IngestPipeline(options);
}

/**
 * Ingest: queue messages in, tasks out, nothing lost, nothing duplicated. Two doors share one set of
 * steps (prepare.ts: decode a batch, store its tasks in one idempotent bulk write, wake processors):
 * the pull path (pull.ts) reads a queue provider and settles each message itself; the push path
 * (push.ts) takes messages a platform already received and reports what the platform should do.
 * docs/message-contract.md says what a message must hold.
 */
import type { AppConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { QueueProvider } from '../queues/provider.js';
import type { TaskStore } from '../store/task-store.js';
import { IngestSteps, type IngestPipelineOptions, type MessageSource } from './prepare.js';
import { pullOnce, pullUntil, type PullOptions, type PullResult, type PullUntilResult } from './pull.js';
import { ingestPushed, type PushedMessage, type PushResult } from './push.js';

export type { IngestPipelineOptions, MessageSource } from './prepare.js';
export type { IngestCounts, PullOptions, PullResult, PullUntilResult } from './pull.js';
export type { PushedMessage, PushOutcome, PushResult } from './push.js';
export { decodeMessage, INVALID_MESSAGE_TYPE, type DecodeOptions, type Rejection } from './decode.js';
export {
  messageEnvelopeSchema,
  taskTypeSchema,
  rejectionCodes,
  type MessageEnvelope,
  type MessageEnvelopeInput,
  type RejectionCode,
} from './contract.js';
export { IngestStoreError } from './errors.js';
export { emptyIngestCounts } from './pull.js';

/** The subscriber pipeline: one set of settings, both doors. */
export class IngestPipeline {
  private readonly steps: IngestSteps;

  constructor(opts: IngestPipelineOptions) {
    this.steps = new IngestSteps(opts);
  }

  /** Pulls and ingests one batch (pull.ts). Never throws for a message's fault; a failing receive throws. */
  pullOnce(options: PullOptions = {}): Promise<PullResult> {
    return pullOnce(this.steps, this.requireProvider(), options);
  }

  /** Pulls batches until the queue is empty, the deadline passes, or the store fails (pull.ts). */
  pullUntil(options: { deadline: Date | number; signal?: AbortSignal }): Promise<PullUntilResult> {
    return pullUntil(this.steps, this.requireProvider(), options);
  }

  /** Ingests messages a platform already received (push.ts); a store failure throws IngestStoreError. */
  ingestPushed(messages: readonly PushedMessage[], source: MessageSource): Promise<PushResult> {
    return ingestPushed(this.steps, messages, source);
  }

  private requireProvider(): QueueProvider {
    if (!this.steps.opts.provider) throw new Error('IngestPipeline: pulling needs a queue provider (pass `provider`)');
    return this.steps.opts.provider;
  }
}

export interface CreateIngestPipelineDeps {
  store: Pick<TaskStore, 'ingest'>;
  provider?: QueueProvider;
  /** The task types accepted (the hosts pass their TaskTypeRule's acceptList(): the handlers' types and Handlers:ExtraTypes); unset: any. */
  knownTaskTypes?: readonly string[];
  onTasksStored?: (count: number) => Promise<void> | void;
  logger?: Logger;
}

/** The pipeline configured from the Ingest section. */
export function createIngestPipeline(
  config: Pick<AppConfig, 'Ingest'>,
  deps: CreateIngestPipelineDeps,
): IngestPipeline {
  const s = config.Ingest;
  const known = deps.knownTaskTypes;
  const options: IngestPipelineOptions = {
    store: deps.store,
    ...(deps.provider ? { provider: deps.provider } : {}),
    batchSize: s.BatchSize,
    concurrency: s.Concurrency,
    messageTimeoutMs: s.MessageTimeout,
    receiveWaitMs: s.ReceiveWaitTime,
    maxBodyBytes: s.MaxBodyBytes,
    maxDeliveryCount: s.MaxDeliveryCount,
    retry: { attempts: s.RetryAttempts, baseDelayMs: s.RetryBaseDelay, maxDelayMs: s.RetryMaxDelay },
    taskTypeProperty: s.TaskTypeProperty,
    ...(s.DefaultTaskType ? { defaultTaskType: s.DefaultTaskType } : {}),
    ...(known ? { knownTaskTypes: known } : {}),
    ...(deps.onTasksStored ? { onTasksStored: deps.onTasksStored } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
  return new IngestPipeline(options);
}

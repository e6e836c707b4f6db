/**
 * What the pull path (pull.ts) and the push path (push.ts) share: the pipeline's settings, decoding a
 * batch of messages into its tasks (good ones Queued, refused ones Failed with their reason), the one
 * idempotent bulk write that stores them, and the wake-up after new tasks were stored.
 */
import { SpanKind } from '@opentelemetry/api';
import { silentLogger, type Logger } from '../log/logger.js';
import type { QueueMessage, QueueProvider } from '../queues/provider.js';
import type { IngestResult, TaskStore } from '../store/task-store.js';
import type { NewTask } from '../tasks/model.js';
import { formatTraceparent, spanAttributes, withSpan } from '../telemetry/tracing.js';
import { decodeMessage, type DecodeInput, type DecodeOptions, type Rejection } from './decode.js';
import { createIngestPolicies, type IngestPolicies, type RetrySettings } from './policies.js';

export interface IngestPipelineOptions {
  /** Only the idempotent bulk write is used. */
  store: Pick<TaskStore, 'ingest'>;
  /** The queue pulled by pullOnce/pullUntil (not needed for ingestPushed). */
  provider?: QueueProvider;
  batchSize: number;
  concurrency: number;
  /** Time limit of one message's decoding and of its settlement. */
  messageTimeoutMs: number;
  /** Long-poll wait of a pull's first receive. */
  receiveWaitMs: number;
  maxBodyBytes: number;
  /**
   * Deliveries after which a refused message that cannot be dead-lettered is removed (its Failed task keeps
   * it) rather than redelivered again (Ingest:MaxDeliveryCount, default 5).
   */
  maxDeliveryCount?: number;
  retry: RetrySettings;
  defaultTaskType?: string;
  taskTypeProperty?: string;
  /** When set, messages of other types are refused (UnknownTaskType). */
  knownTaskTypes?: readonly string[];
  /** Called after a batch stored new tasks (e.g. to send one wake-up message to the dispatch queue). */
  onTasksStored?: (count: number) => Promise<void> | void;
  /** Recorded as `by` in the tasks' history. */
  by?: string;
  logger?: Logger;
}

/** Where messages came from: the provider kind and queue (recorded on the tasks, part of their idempotency keys). */
export interface MessageSource {
  provider: string;
  queue: string;
}

/** One message of a batch after decoding. */
export interface Prepared {
  message: { id: string; deliveryCount: number };
  /** The received message, on the pull path (it is settled through its provider). */
  queued?: QueueMessage;
  rejection?: Rejection;
  /** Index of its task in the bulk write; undefined when decoding failed unexpectedly. */
  taskIndex?: number;
}

export type PrepareInput = DecodeInput & { deliveryCount: number; queued?: QueueMessage };

/** The settings and policies both paths work with, built once per pipeline. */
export class IngestSteps {
  readonly policies: IngestPolicies;
  readonly log: Logger;
  private readonly decodeOptions: DecodeOptions;

  constructor(readonly opts: IngestPipelineOptions) {
    this.policies = createIngestPolicies({
      retry: opts.retry,
      messageTimeoutMs: opts.messageTimeoutMs,
      concurrency: opts.concurrency,
    });
    this.decodeOptions = {
      maxBodyBytes: opts.maxBodyBytes,
      taskTypeProperty: opts.taskTypeProperty ?? 'taskType',
      ...(opts.defaultTaskType ? { defaultTaskType: opts.defaultTaskType } : {}),
      ...(opts.knownTaskTypes ? { knownTaskTypes: new Set(opts.knownTaskTypes) } : {}),
    };
    const where = opts.provider ? { provider: opts.provider.kind, queue: opts.provider.queueName } : {};
    this.log = (opts.logger ?? silentLogger).child({ component: 'ingest', ...where });
  }

  /**
   * Decodes every message (bounded concurrency, each under its own time limit) into the batch's tasks.
   * A message whose decoding failed unexpectedly (timeout, bug) gets no task: it is redelivered.
   */
  async prepare(inputs: PrepareInput[], source: MessageSource): Promise<{ items: Prepared[]; tasks: NewTask[] }> {
    const decoded = await Promise.all(inputs.map((input) => this.decodeOne(input, source)));
    const items: Prepared[] = [];
    const tasks: NewTask[] = [];
    inputs.forEach((input, i) => {
      const d = decoded[i];
      const item: Prepared = {
        message: { id: input.id, deliveryCount: input.deliveryCount },
        ...(input.queued ? { queued: input.queued } : {}),
      };
      if (d) {
        item.taskIndex = tasks.length;
        tasks.push(d.task);
        if (d.rejection) {
          item.rejection = d.rejection;
          this.log.warn('message refused; recorded as a Failed task', {
            messageId: input.id,
            reason: d.rejection.code,
            detail: d.rejection.detail,
          });
        }
      }
      items.push(item);
    });
    return { items, tasks };
  }

  /** The batch's one idempotent bulk write, transient database errors retried. */
  store(tasks: NewTask[]): Promise<IngestResult> {
    if (tasks.length === 0) return Promise.resolve({ inserted: 0, duplicates: 0, items: [] });
    return this.policies.store.execute(
      () => this.opts.store.ingest(tasks, { by: this.opts.by ?? 'ingest' }),
      ownSignal(),
    );
  }

  /** Tells `onTasksStored` about new tasks; its failure only delays processing (processors also poll). */
  async notifyStored(count: number): Promise<void> {
    if (count === 0 || !this.opts.onTasksStored) return;
    try {
      await this.opts.onTasksStored(count);
    } catch (e) {
      this.log.warn('onTasksStored failed', { count, error: describeError(e) });
    }
  }

  private async decodeOne(input: PrepareInput, source: MessageSource) {
    try {
      // One span per message receipt; its traceparent goes into the task, so the processing span links back to it.
      const parent = typeof input.properties?.traceparent === 'string' ? input.properties.traceparent : undefined;
      return await withSpan(
        'message.receive',
        {
          [spanAttributes.messageId]: input.id,
          [spanAttributes.queue]: source.queue,
          [spanAttributes.provider]: source.provider,
        },
        async (span) => {
          const d = await this.policies.perMessage.execute(
            () => decodeMessage(input, source, this.decodeOptions),
            ownSignal(),
          );
          if (span.isRecording()) d.task.traceparent ??= formatTraceparent(span.spanContext());
          return d;
        },
        { kind: SpanKind.CONSUMER, ...(parent ? { parent } : {}) },
      );
    } catch (e) {
      this.log.error('decoding a message failed unexpectedly; it will be redelivered', {
        messageId: input.id,
        error: describeError(e),
      });
      return undefined;
    }
  }
}

/**
 * A signal per execution: without one, cockatiel hangs every execution's abort listener on one shared
 * signal, and a batch's worth of them trips Node's listener-leak warning.
 */
export function ownSignal(): AbortSignal {
  return new AbortController().signal;
}

export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

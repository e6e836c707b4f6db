/**
 * The subscriber pipeline: messages in, tasks out, nothing lost, nothing duplicated.
 *
 * One batch: receive up to BatchSize messages; decode each (bounded concurrency, its own time limit);
 * store every task of the batch in ONE idempotent bulk write (good ones as Queued, refused ones as
 * Failed with their reason); then settle each message: complete the stored ones, dead-letter the
 * refused ones. A crash between the write and the settlement redelivers the messages; their
 * idempotency keys (the producer's, or provider+queue+message id) make the second write a no-op.
 * A store failure gives the messages back (abandon, with backoff): it never dead-letters them.
 *
 * The same decoding and bulk write serve messages a platform already received (`ingestPushed`, the
 * Service Bus trigger): there the platform settles, so refused ones are reported and a store failure
 * throws.
 */
import { SpanKind } from '@opentelemetry/api';
import { z } from 'zod';
import { formatTraceparent, spanAttributes, withSpan } from '../telemetry/tracing.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { QueueMessage, QueueProvider } from '../queues/provider.js';
import { redeliveryDelay } from '../queues/redelivery.js';
import type { IngestResult, TaskStore } from '../store/task-store.js';
import type { NewTask } from '../tasks/model.js';
import { decodeMessage, type DecodeInput, type DecodeOptions, type Rejection } from './decode.js';
import { IngestStoreError } from './errors.js';
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

export interface IngestCounts {
  received: number;
  /** New tasks (Queued). */
  stored: number;
  /** Messages whose task existed already (redeliveries, producer retries). */
  duplicates: number;
  /** Refused messages, recorded as Failed tasks. */
  rejected: number;
  deadLettered: number;
  completed: number;
  /** Given back for redelivery (store failure, or a message whose decoding failed unexpectedly). */
  abandoned: number;
  /** Settlement calls that failed for good; those messages come back and are deduplicated. */
  settleFailures: number;
}

export interface PullResult extends IngestCounts {
  /** Set when the batch's bulk write failed (after retries); its messages were abandoned. */
  storeError?: string;
}

export interface PullUntilResult extends IngestCounts {
  batches: number;
  stoppedBecause: 'empty' | 'deadline' | 'store-failure' | 'aborted';
  storeError?: string;
}

/** A message a platform already received (the Service Bus trigger); the platform settles it. */
export interface PushedMessage {
  id: string;
  /** Text, bytes (UTF-8) or, when the host already parsed JSON, the value. */
  body: unknown;
  deliveryCount: number;
  enqueuedAt: Date;
  sessionId?: string;
  properties?: Record<string, string | number | boolean>;
}

export type PushOutcome =
  | { id: string; outcome: 'stored' | 'duplicate'; taskId: string }
  | { id: string; outcome: 'rejected'; taskId: string; reason: Rejection['code']; description: string };

export interface PushResult {
  outcomes: PushOutcome[];
  stored: number;
  duplicates: number;
  rejected: number;
}

const pushedMessageSchema = z.object({
  id: z.string().min(1),
  body: z.unknown(),
  deliveryCount: z.number().int().min(0),
  enqueuedAt: z.date(),
  sessionId: z.string().optional(),
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
const pushSourceSchema = z.object({ provider: z.string().min(1), queue: z.string().min(1) });

interface Prepared {
  message: { id: string; deliveryCount: number };
  queued?: QueueMessage;
  rejection?: Rejection;
  /** Index of its task in the bulk write; undefined when decoding failed unexpectedly. */
  taskIndex?: number;
}

const emptyCounts = (): IngestCounts => ({ received: 0, stored: 0, duplicates: 0, rejected: 0, deadLettered: 0, completed: 0, abandoned: 0, settleFailures: 0 });

export class IngestPipeline {
  private readonly policies: IngestPolicies;
  private readonly decodeOptions: DecodeOptions;
  private readonly log: Logger;

  constructor(private readonly opts: IngestPipelineOptions) {
    this.policies = createIngestPolicies({ retry: opts.retry, messageTimeoutMs: opts.messageTimeoutMs, concurrency: opts.concurrency });
    this.decodeOptions = {
      maxBodyBytes: opts.maxBodyBytes,
      taskTypeProperty: opts.taskTypeProperty ?? 'taskType',
      ...(opts.defaultTaskType ? { defaultTaskType: opts.defaultTaskType } : {}),
      ...(opts.knownTaskTypes ? { knownTaskTypes: new Set(opts.knownTaskTypes) } : {}),
    };
    this.log = (opts.logger ?? silentLogger).child({ component: 'ingest', ...(opts.provider ? { provider: opts.provider.kind, queue: opts.provider.queueName } : {}) });
  }

  /** Pulls and ingests one batch. Never throws for a message's fault; a failing receive throws. */
  async pullOnce(options: { waitMs?: number } = {}): Promise<PullResult> {
    const provider = this.requireProvider();
    const messages = await this.receiveBatch(provider, options.waitMs ?? this.opts.receiveWaitMs);
    const counts: PullResult = { ...emptyCounts(), received: messages.length };
    if (messages.length === 0) return counts;

    const source = { provider: provider.kind, queue: provider.queueName };
    const prepared = await this.prepareAll(
      messages.map((m) => ({ id: m.id, body: m.body, deliveryCount: m.deliveryCount, ...(m.properties ? { properties: m.properties } : {}), queued: m })),
      source,
    );

    const tasks = prepared.tasks;
    let result: IngestResult;
    try {
      result = await this.storeBatch(tasks);
    } catch (e) {
      const reason = describe(e);
      this.log.error('bulk write failed; giving the batch back for redelivery', { messages: messages.length, error: reason });
      counts.storeError = reason;
      await this.settleEach(prepared.items, counts, async (item) => {
        await provider.abandon(item.queued!, this.redeliveryDelay(item));
        counts.abandoned++;
      });
      return counts;
    }

    let newQueued = 0;
    await this.settleEach(prepared.items, counts, async (item) => {
      if (item.taskIndex === undefined) {
        // Decoding itself failed (timeout, bug): not the message's fault, so no dead letter.
        await provider.abandon(item.queued!, this.redeliveryDelay(item));
        counts.abandoned++;
        return;
      }
      if (item.rejection) {
        await provider.deadLetter(item.queued!, item.rejection.code, item.rejection.detail);
        counts.deadLettered++;
      } else {
        await provider.complete(item.queued!);
        counts.completed++;
      }
    });

    for (const item of prepared.items) {
      if (item.taskIndex === undefined) continue;
      const stored = result.items[item.taskIndex]!;
      if (item.rejection) counts.rejected++;
      else if (stored.duplicate) counts.duplicates++;
      else {
        counts.stored++;
        newQueued++;
      }
    }
    await this.notifyStored(newQueued);
    this.log.debug('batch ingested', { ...counts });
    return counts;
  }

  /** Pulls batches until the queue is empty, the deadline passes, or the store fails. */
  async pullUntil(options: { deadline: Date | number; signal?: AbortSignal }): Promise<PullUntilResult> {
    const deadline = typeof options.deadline === 'number' ? options.deadline : options.deadline.getTime();
    const total: PullUntilResult = { ...emptyCounts(), batches: 0, stoppedBecause: 'deadline' };
    let first = true;
    while (true) {
      if (options.signal?.aborted) {
        total.stoppedBecause = 'aborted';
        break;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        total.stoppedBecause = 'deadline';
        break;
      }
      // Only the first pull waits: later ones stop the loop as soon as the queue is drained.
      const r = await this.pullOnce({ waitMs: first ? Math.min(this.opts.receiveWaitMs, left) : 0 });
      first = false;
      if (r.received === 0) {
        total.stoppedBecause = 'empty';
        break;
      }
      total.batches++;
      for (const k of Object.keys(emptyCounts()) as (keyof IngestCounts)[]) total[k] += r[k];
      if (r.storeError) {
        total.stoppedBecause = 'store-failure';
        total.storeError = r.storeError;
        break;
      }
    }
    return total;
  }

  /**
   * Ingests messages a platform already received. Refused ones are recorded as Failed tasks and
   * reported (the caller dead-letters them its own way); a store failure throws IngestStoreError so
   * the platform abandons and redelivers.
   */
  async ingestPushed(messages: readonly PushedMessage[], source: { provider: string; queue: string }): Promise<PushResult> {
    const src = pushSourceSchema.parse(source);
    const parsed = z.array(pushedMessageSchema).parse(messages);
    const prepared = await this.prepareAll(
      parsed.map((m) => ({ id: m.id, ...bodyText(m.body), deliveryCount: m.deliveryCount, ...(m.properties ? { properties: m.properties } : {}) })),
      src,
    );
    const failed = prepared.items.find((i) => i.taskIndex === undefined);
    if (failed) throw new IngestStoreError(`message ${failed.message.id} could not be decoded in time; nothing was stored`, { transient: true, queue: src.queue, messages: parsed.length });
    let result: IngestResult;
    try {
      result = await this.storeBatch(prepared.tasks);
    } catch (e) {
      throw new IngestStoreError(`storing ${parsed.length} pushed message(s) from ${src.provider} queue "${src.queue}" failed: ${describe(e)}`, { transient: true, queue: src.queue, messages: parsed.length }, { cause: e });
    }
    const out: PushResult = { outcomes: [], stored: 0, duplicates: 0, rejected: 0 };
    for (const item of prepared.items) {
      const r = result.items[item.taskIndex!]!;
      if (item.rejection) {
        out.rejected++;
        out.outcomes.push({ id: item.message.id, outcome: 'rejected', taskId: r.taskId, reason: item.rejection.code, description: item.rejection.detail });
      } else if (r.duplicate) {
        out.duplicates++;
        out.outcomes.push({ id: item.message.id, outcome: 'duplicate', taskId: r.taskId });
      } else {
        out.stored++;
        out.outcomes.push({ id: item.message.id, outcome: 'stored', taskId: r.taskId });
      }
    }
    await this.notifyStored(out.stored);
    return out;
  }

  // ---------------------------------------------------------------------------------------------

  /** Exponential in the delivery count: a store that is down is not hammered by its own backlog. */
  private redeliveryDelay(item: Prepared): number {
    return redeliveryDelay(item.message.deliveryCount, { baseMs: this.opts.retry.baseDelayMs, capMs: this.opts.retry.maxDelayMs });
  }

  private requireProvider(): QueueProvider {
    if (!this.opts.provider) throw new Error('IngestPipeline: pulling needs a queue provider (pass `provider`)');
    return this.opts.provider;
  }

  /** Fills a batch: the first receive may long-poll, the rest only take what is already there. */
  private async receiveBatch(provider: QueueProvider, waitMs: number): Promise<QueueMessage[]> {
    const batch: QueueMessage[] = [];
    const seen = new Set<string>();
    while (batch.length < this.opts.batchSize) {
      const want = this.opts.batchSize - batch.length;
      let got: QueueMessage[];
      try {
        got = await this.policies.receive.execute(() => provider.receive({ maxMessages: want, waitMs: batch.length === 0 ? waitMs : 0 }), ownSignal());
      } catch (e) {
        if (batch.length === 0) throw e;
        this.log.warn('a receive filling the batch failed; going on with what arrived', { error: describe(e) });
        break;
      }
      const fresh = got.filter((m) => !seen.has(m.id));
      for (const m of fresh) seen.add(m.id);
      batch.push(...fresh);
      if (fresh.length === 0) break;
    }
    return batch;
  }

  private async prepareAll(
    inputs: (DecodeInput & { deliveryCount: number; queued?: QueueMessage })[],
    source: { provider: string; queue: string },
  ): Promise<{ items: Prepared[]; tasks: NewTask[] }> {
    const decoded = await Promise.all(
      inputs.map(async (input) => {
        try {
          // One span per message receipt; its traceparent goes into the task, so the processing span links back to it.
          const parent = typeof input.properties?.traceparent === 'string' ? input.properties.traceparent : undefined;
          return await withSpan(
            'message.receive',
            { [spanAttributes.messageId]: input.id, [spanAttributes.queue]: source.queue, [spanAttributes.provider]: source.provider },
            async (span) => {
              const d = await this.policies.perMessage.execute(() => decodeMessage(input, source, this.decodeOptions), ownSignal());
              if (span.isRecording()) d.task.traceparent ??= formatTraceparent(span.spanContext());
              return d;
            },
            { kind: SpanKind.CONSUMER, ...(parent ? { parent } : {}) },
          );
        } catch (e) {
          this.log.error('decoding a message failed unexpectedly; it will be redelivered', { messageId: input.id, error: describe(e) });
          return undefined;
        }
      }),
    );
    const items: Prepared[] = [];
    const tasks: NewTask[] = [];
    inputs.forEach((input, i) => {
      const d = decoded[i];
      const item: Prepared = { message: { id: input.id, deliveryCount: input.deliveryCount }, ...(input.queued ? { queued: input.queued } : {}) };
      if (d) {
        item.taskIndex = tasks.length;
        tasks.push(d.task);
        if (d.rejection) {
          item.rejection = d.rejection;
          this.log.warn('message refused; recorded as a Failed task', { messageId: input.id, reason: d.rejection.code, detail: d.rejection.detail });
        }
      }
      items.push(item);
    });
    return { items, tasks };
  }

  private storeBatch(tasks: NewTask[]): Promise<IngestResult> {
    if (tasks.length === 0) return Promise.resolve({ inserted: 0, duplicates: 0, items: [] });
    return this.policies.store.execute(() => this.opts.store.ingest(tasks, { by: this.opts.by ?? 'ingest' }), ownSignal());
  }

  /** Runs one settlement per message under the per-message policy; a failure is counted, never thrown. */
  private async settleEach(items: Prepared[], counts: IngestCounts, settle: (item: Prepared) => Promise<void>): Promise<void> {
    await Promise.all(
      items.map(async (item) => {
        try {
          await this.policies.perMessage.execute(() => settle(item), ownSignal());
        } catch (e) {
          counts.settleFailures++;
          this.log.warn('settling a message failed; it will be redelivered and deduplicated', { messageId: item.message.id, error: describe(e) });
        }
      }),
    );
  }

  private async notifyStored(count: number): Promise<void> {
    if (count === 0 || !this.opts.onTasksStored) return;
    try {
      await this.opts.onTasksStored(count);
    } catch (e) {
      // The tasks are stored; processors also poll. A failed wake-up only delays them.
      this.log.warn('onTasksStored failed', { count, error: describe(e) });
    }
  }
}

/**
 * A signal per execution: without one, cockatiel hangs every execution's abort listener on one shared
 * signal, and a batch's worth of them trips Node's listener-leak warning.
 */
function ownSignal(): AbortSignal {
  return new AbortController().signal;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A pushed body as text: bytes must be UTF-8 (else refused as InvalidEncoding, text kept lossy for the record). */
function bodyText(body: unknown): { body: string; invalidEncoding?: true } {
  if (typeof body === 'string') return { body };
  if (body instanceof Uint8Array) {
    try {
      return { body: strictUtf8.decode(body) };
    } catch {
      return { body: Buffer.from(body).toString('utf8'), invalidEncoding: true };
    }
  }
  // The host parsed the JSON already (Service Bus trigger with a JSON content type).
  return { body: JSON.stringify(body) ?? '' };
}

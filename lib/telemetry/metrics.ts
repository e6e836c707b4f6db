import {
  metrics,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type ObservableGauge,
} from '@opentelemetry/api';
import { redactConnectionString } from '../config/redact.js';
import type { Logger } from '../log/logger.js';
import type { QueueHealth, QueueProvider } from '../queues/provider.js';
import { errorMessage } from '../errors/message.js';

/**
 * Task and queue metrics. Other modules call the named functions (`taskMetrics.claimed(n, attrs)`);
 * which exporter (if any) receives them is decided once by setupTelemetry.
 *
 * The instruments are looked up against the current MeterProvider on each call and rebuilt when it
 * changes: the OpenTelemetry metrics API has no proxy provider, so instruments created before
 * setupTelemetry ran would stay no-ops forever.
 */
export const METER_NAME = 'taskmesh';

export const metricNames = {
  ingested: 'taskmesh.tasks.ingested',
  duplicates: 'taskmesh.tasks.duplicates',
  claimed: 'taskmesh.tasks.claimed',
  succeeded: 'taskmesh.tasks.succeeded',
  failed: 'taskmesh.tasks.failed',
  retried: 'taskmesh.tasks.retried',
  reclaimed: 'taskmesh.tasks.reclaimed',
  cancelled: 'taskmesh.tasks.cancelled',
  timedOut: 'taskmesh.tasks.timed_out',
  claimLatency: 'taskmesh.claim.duration',
  processingDuration: 'taskmesh.task.processing.duration',
  enqueueToStart: 'taskmesh.task.queue_wait',
  queueDepth: 'taskmesh.queue.depth',
  deadLetterDepth: 'taskmesh.queue.dead_letter.depth',
  oldestMessageAge: 'taskmesh.queue.oldest_message.age',
  queueReachable: 'taskmesh.queue.reachable',
  oldestRunnableAge: 'taskmesh.tasks.oldest_runnable.age',
} as const;

type CounterName =
  'ingested' | 'duplicates' | 'claimed' | 'succeeded' | 'failed' | 'retried' | 'reclaimed' | 'cancelled' | 'timedOut';
type HistogramName = 'claimLatency' | 'processingDuration' | 'enqueueToStart';

const counterDocs: Record<CounterName, string> = {
  ingested: 'Tasks created by ingest (duplicates excluded)',
  duplicates: 'Ingested messages that matched an existing task (idempotency)',
  claimed: 'Tasks claimed by workers',
  succeeded: 'Attempts that succeeded',
  failed: 'Attempts that failed (task.final: no retry follows)',
  retried: 'Tasks scheduled for another attempt (after an error or timeout, or by an operator)',
  reclaimed: 'Tasks taken back from workers whose heartbeat stopped',
  cancelled: 'Tasks cancelled',
  timedOut: 'Attempts that outlived their handler timeout',
};

const histogramDocs: Record<HistogramName, string> = {
  claimLatency: 'Time one claim call took',
  processingDuration: 'Time from start (or claim) to the end of an attempt',
  enqueueToStart: 'Time from task creation to its claim',
};

interface Instruments {
  provider: MeterProvider;
  counters: Record<CounterName, Counter>;
  histograms: Record<HistogramName, Histogram>;
}

let override: MeterProvider | undefined;
let cache: Instruments | undefined;

/** Uses this provider instead of the global one (tests; embedding code); undefined goes back to the global. */
export function useMeterProvider(provider: MeterProvider | undefined): void {
  override = provider;
  cache = undefined;
}

function currentProvider(): MeterProvider {
  return override ?? metrics.getMeterProvider();
}

function instruments(): Instruments {
  const provider = currentProvider();
  if (cache && cache.provider === provider) return cache;
  const meter = provider.getMeter(METER_NAME);
  const counters = {} as Record<CounterName, Counter>;
  for (const name of Object.keys(counterDocs) as CounterName[]) {
    counters[name] = meter.createCounter(metricNames[name], { description: counterDocs[name], unit: '{task}' });
  }
  const histograms = {} as Record<HistogramName, Histogram>;
  for (const name of Object.keys(histogramDocs) as HistogramName[]) {
    histograms[name] = meter.createHistogram(metricNames[name], { description: histogramDocs[name], unit: 'ms' });
  }
  cache = { provider, counters, histograms };
  return cache;
}

const count =
  (name: CounterName) =>
  (n: number, attrs?: Attributes): void => {
    if (n > 0) instruments().counters[name].add(n, attrs);
  };
const record =
  (name: HistogramName) =>
  (ms: number, attrs?: Attributes): void => {
    if (Number.isFinite(ms) && ms >= 0) instruments().histograms[name].record(ms, attrs);
  };

/** The task counters and histograms. Attributes: see `taskAttributes` and lib/telemetry/README.md. */
export const taskMetrics = {
  ingested: count('ingested'),
  duplicates: count('duplicates'),
  claimed: count('claimed'),
  succeeded: count('succeeded'),
  failed: count('failed'),
  retried: count('retried'),
  reclaimed: count('reclaimed'),
  cancelled: count('cancelled'),
  timedOut: count('timedOut'),
  claimLatency: record('claimLatency'),
  processingDuration: record('processingDuration'),
  enqueueToStart: record('enqueueToStart'),
};

/**
 * `task.type` as a metric attribute. Types come from messages, which anyone able to send to the queue
 * controls; an odd-looking one is folded into "other" so it cannot blow up the series count.
 */
export function taskAttributes(type: string | undefined, extra: Attributes = {}): Attributes {
  const t = type === undefined ? 'unknown' : /^[\w.:/-]{1,64}$/.test(type) ? type : 'other';
  return { 'task.type': t, ...extra };
}

export interface ObserveQueuesOptions {
  /** A provider's health() taking longer than this counts as unreachable for that collection. */
  timeoutMs?: number;
}

/**
 * Queue depth, dead-letter depth, oldest message age and reachability as observable gauges, read from
 * each provider's health() when the metric reader collects. Call after setupTelemetry; returns a
 * function that stops observing.
 */
export function observeQueues(
  providers: readonly QueueProvider[] | (() => readonly QueueProvider[]),
  opts: ObserveQueuesOptions = {},
): () => void {
  const meter = currentProvider().getMeter(METER_NAME);
  const depth = meter.createObservableGauge(metricNames.queueDepth, {
    description: 'Messages waiting in the queue',
    unit: '{message}',
  });
  const dead = meter.createObservableGauge(metricNames.deadLetterDepth, {
    description: 'Messages in the dead-letter queue',
    unit: '{message}',
  });
  const age = meter.createObservableGauge(metricNames.oldestMessageAge, {
    description: 'Age of the oldest waiting message',
    unit: 'ms',
  });
  const reachable = meter.createObservableGauge(metricNames.queueReachable, {
    description: '1 when the provider answered, else 0',
  });
  const gauges: ObservableGauge[] = [depth, dead, age, reachable];
  const list = typeof providers === 'function' ? providers : () => providers;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const callback = async (result: { observe(g: ObservableGauge, v: number, a?: Attributes): void }) => {
    const healths = await Promise.all(list().map((p) => healthWithin(p, timeoutMs)));
    for (const h of healths) {
      const attrs = { 'queue.provider': h.provider, 'queue.name': h.queue };
      result.observe(reachable, h.reachable ? 1 : 0, attrs);
      if (h.depth !== undefined) result.observe(depth, h.depth, attrs);
      if (h.deadLetterDepth !== undefined) result.observe(dead, h.deadLetterDepth, attrs);
      if (h.oldestMessageAgeMs !== undefined) result.observe(age, h.oldestMessageAgeMs, attrs);
    }
  };
  meter.addBatchObservableCallback(callback, gauges);
  return () => meter.removeBatchObservableCallback(callback, gauges);
}

/** A provider's health, never throwing: a failure or a timeout reads as unreachable. */
export async function healthWithin(p: QueueProvider, timeoutMs: number): Promise<QueueHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<QueueHealth>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({ provider: p.kind, queue: p.queueName, reachable: false, error: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      p.health().catch((e: unknown): QueueHealth => ({
        provider: p.kind,
        queue: p.queueName,
        reachable: false,
        error: redactConnectionString(errorMessage(e)),
      })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Age of the oldest task that could be claimed now (`TaskStats.oldestClaimableAgeMs`, ms) as an
 * observable gauge, read from `read()` each time the metric reader collects. Nothing is observed while
 * no task is runnable (a backlog alert then has nothing to fire on) or when `read()` fails or takes
 * longer than `timeoutMs`. Call after setupTelemetry; returns a function that stops observing.
 */
export function observeTaskBacklog(
  read: () => Promise<{ oldestClaimableAgeMs: number | null }>,
  opts: { timeoutMs?: number } = {},
): () => void {
  const meter = currentProvider().getMeter(METER_NAME);
  const gauge = meter.createObservableGauge(metricNames.oldestRunnableAge, {
    description: 'Age of the oldest task that could run now',
    unit: 'ms',
  });
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const callback = async (result: { observe(v: number, a?: Attributes): void }) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      const stats = await Promise.race([read().catch(() => undefined), timeout]);
      const age = stats?.oldestClaimableAgeMs;
      if (typeof age === 'number' && Number.isFinite(age)) result.observe(Math.max(0, age));
    } finally {
      clearTimeout(timer);
    }
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}

/**
 * The same figure as a log line, for hosts whose metrics reach no backend (Function Compute: its logs
 * go to Simple Log Service, where the alerts and dashboard of infra/aliyun read this line).
 */
export function logTaskBacklog(logger: Logger, stats: { oldestClaimableAgeMs: number | null; total: number }): void {
  logger.info('task backlog', {
    oldestRunnableAgeMs: stats.oldestClaimableAgeMs ?? 0,
    runnable: stats.oldestClaimableAgeMs !== null,
    total: stats.total,
  });
}

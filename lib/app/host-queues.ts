/**
 * The queues a host operates on, built the same way by every host (npm start, Azure Functions,
 * Function Compute, the subscriber): the configured ingest provider (queue depth, dead-letter depth
 * and replay, POST /api/messages) and, where wake-ups travel on one, the dispatch Storage queue. And
 * the signals every host observes while it runs: the queue gauges (`taskmesh.queue.*`) and the task
 * backlog gauge, registered once per process however many hosts or invocations ask.
 */
import type { OutgoingMessage, QueueProvider } from '../queues/provider.js';
import { createQueueProvider } from '../queues/factory.js';
import type { QueueProviderExtras } from '../queues/provider.js';
import { observeQueues, observeTaskBacklog } from '../telemetry/metrics.js';
import type { AppServices } from './services.js';

export interface HostQueues {
  /** The ingest queue (Ingest:Provider), when it could be configured. */
  ingest?: QueueProvider;
  /** The dispatch Storage queue, on hosts whose processors are woken through it. */
  dispatch?: QueueProvider;
  /** Every queue above, for GET /api/queues, /health and the gauges. */
  all: QueueProvider[];
  /** POST /api/messages: a send to the ingest queue (absent when there is none). */
  enqueue?: (m: OutgoingMessage) => Promise<{ messageId: string }>;
  close(): Promise<void>;
}

export interface OpenHostQueuesOptions {
  /** Include the dispatch Storage queue (Azure and npm start; not Function Compute, which invokes processors). */
  dispatch: boolean;
  /** Provider-only options, e.g. Function Compute's per-invocation MNS credentials. */
  extras?: QueueProviderExtras;
}

/**
 * Builds the host's queue providers. A provider that cannot be configured is logged and left out, so
 * the rest of the operations API still answers (GET /api/queues then shows what is there).
 */
export async function openHostQueues(s: AppServices, o: OpenHostQueuesOptions): Promise<HostQueues> {
  const open = async (queue: 'ingest' | 'dispatch') => {
    try {
      return await createQueueProvider(s.config, {
        queue,
        logger: s.logger,
        ...(o.extras ? { extras: o.extras } : {}),
      });
    } catch (e) {
      s.logger.warn('queue provider unavailable; left out of the operations API', { queue, err: e });
      return undefined;
    }
  };
  const ingest = await open('ingest');
  const dispatch = o.dispatch ? await open('dispatch') : undefined;
  return fromProviders(ingest, dispatch);
}

/** The same shape over providers a host already holds (npm start builds its own). */
export function fromProviders(ingest: QueueProvider | undefined, dispatch?: QueueProvider): HostQueues {
  const all = [ingest, dispatch].filter((p): p is QueueProvider => p !== undefined);
  return {
    ...(ingest ? { ingest } : {}),
    ...(dispatch ? { dispatch } : {}),
    all,
    ...(ingest ? { enqueue: async (m: OutgoingMessage) => ({ messageId: (await ingest.send(m)).id }) } : {}),
    close: async () => {
      await Promise.allSettled(all.map((p) => p.close()));
    },
  };
}

/** What the process observes: one set of gauges, reading whichever providers and store are current. */
const observed = new Set<QueueProvider>();
let backlogOf: AppServices | undefined;
let stopObserving: (() => void) | undefined;

/**
 * Observes the queue gauges of `queues` and the task backlog gauge of `s` for as long as the host runs
 * (call the returned function when it stops). Registered with the meter once per process: several
 * hosts, or warm invocations, only add their providers to what the one callback reads.
 */
export function observeHostSignals(s: AppServices, queues: readonly QueueProvider[]): () => void {
  for (const q of queues) observed.add(q);
  backlogOf = s;
  if (!stopObserving) {
    const stopQueues = observeQueues(() => [...observed]);
    const stopBacklog = observeTaskBacklog(async () => {
      if (!backlogOf) return { oldestClaimableAgeMs: null };
      return backlogOf.store.stats();
    });
    stopObserving = () => {
      stopQueues();
      stopBacklog();
    };
  }
  return () => {
    for (const q of queues) observed.delete(q);
    if (backlogOf === s) backlogOf = undefined;
    if (observed.size === 0 && !backlogOf) {
      stopObserving?.();
      stopObserving = undefined;
    }
  };
}

let shared: { key: string; services: AppServices; queues: Promise<HostQueues>; stop: () => void } | undefined;

/**
 * The host queues of a serverless instance, opened by its first invocation (admin API or timer) and
 * reused by warm ones, observed while they live. `key` names what the providers were built with (e.g.
 * Function Compute's STS token): a new key, or new services, closes the old providers and opens new ones.
 */
export function sharedHostQueues(s: AppServices, o: OpenHostQueuesOptions & { key?: string }): Promise<HostQueues> {
  const key = `${o.dispatch ? 'd' : '-'}:${o.key ?? ''}`;
  if (shared && shared.key === key && shared.services === s) return shared.queues;
  const previous = shared;
  const queues = openHostQueues(s, o);
  const entry = { key, services: s, queues, stop: () => undefined as void };
  shared = entry;
  void queues.then(
    (q) => {
      if (shared === entry) entry.stop = observeHostSignals(s, q.all);
    },
    () => {
      if (shared === entry) shared = undefined;
    },
  );
  if (previous) {
    previous.stop();
    // Requests still using the old providers finish first: close a little later, never under them.
    void previous.queues.then((q) => setTimeout(() => void q.close(), 60_000).unref());
  }
  return queues;
}

/** Forgets the shared host queues (tests, and hosts recycling their configuration). */
export async function resetSharedHostQueues(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) {
    s.stop();
    await s.queues.then((q) => q.close()).catch(() => undefined);
  }
}

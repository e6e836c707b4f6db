/**
 * The long-running subscriber: the pull path of ingest (lib/ingest/pull.ts) one batch after another,
 * for as long as the process lives (`npm run subscriber`, the Kubernetes subscriber Deployment).
 *
 * Stopping never loses or duplicates a message: after stop() no new receive starts, and the batch in
 * flight finishes as every batch does (its tasks stored in one idempotent write, then each message
 * completed or dead-lettered; on a store failure given back). A receive still long-polling when the
 * stop comes ends at once (ReceiveOptions.signal), so a stop does not sit out Ingest:ReceiveWaitTime;
 * messages it had already received are ingested, and one the service hands out after that is given
 * back by the provider, not dropped.
 * A process killed anyway (SIGKILL) leaves its unsettled messages to come back after their visibility
 * timeout; their idempotency keys make the second write a no-op.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { emptyIngestCounts, type IngestCounts } from '../ingest/index.js';
import type { QueueProvider } from '../queues/provider.js';
import { errorMessage } from '../errors/message.js';
import type { Dispatcher } from './dispatch.js';
import { ingestPipelineFor } from './invocations.js';
import type { AppServices } from './services.js';

export interface SubscriberOptions {
  services: AppServices;
  provider: QueueProvider;
  /** Wakes processors after a batch stored tasks (default: none; long-lived workers poll). */
  dispatch?: Dispatcher;
  /** Pause after a failed receive (default 2 s) and after a failed bulk write (default 1 s). */
  receiveErrorPauseMs?: number;
  storeErrorPauseMs?: number;
}

export type SubscriberState = 'running' | 'draining' | 'stopped';

export interface SubscriberSummary extends IngestCounts {
  batches: number;
  /** Receives that failed (the loop paused and went on). */
  receiveErrors: number;
  /** What stopped it (the signal's name, or the reason given to stop()). */
  stoppedBecause: string;
}

export interface Subscriber {
  readonly state: SubscriberState;
  /** False while receives fail (the readiness probe reports it). */
  readonly receiving: boolean;
  /** Stops receiving, finishes the batch in flight; resolves with the summary once it is settled. */
  stop(reason?: string): Promise<SubscriberSummary>;
  readonly done: Promise<SubscriberSummary>;
}

const countKeys: readonly (keyof IngestCounts)[] = [
  'received',
  'stored',
  'duplicates',
  'rejected',
  'deadLettered',
  'completed',
  'abandoned',
  'settleFailures',
  'removedUndeliverable',
];

export function startSubscriber(o: SubscriberOptions): Subscriber {
  const s = o.services;
  const log = s.logger.child({ component: 'subscriber', queue: o.provider.queueName, provider: o.provider.kind });
  const pipeline = ingestPipelineFor(s, {
    provider: o.provider,
    logger: log,
    ...(o.dispatch ? { dispatch: o.dispatch } : {}),
  });
  const stopping = new AbortController();
  let state: SubscriberState = 'running';
  let receiving = true;
  const summary = emptySubscriberSummary('stopped');
  const pause = (ms: number) => sleep(ms, undefined, { signal: stopping.signal }).catch(() => undefined);

  const loop = async (): Promise<SubscriberSummary> => {
    log.info('subscriber started');
    while (!stopping.signal.aborted) {
      try {
        const r = await pipeline.pullOnce({ signal: stopping.signal });
        receiving = true;
        if (r.received === 0) continue;
        summary.batches++;
        for (const k of countKeys) summary[k] += r[k];
        log.info('ingest batch', { ...r, draining: stopping.signal.aborted });
        if (r.storeError) await pause(o.storeErrorPauseMs ?? 1_000);
      } catch (e) {
        // Only a failing receive throws (nothing was taken off the queue): pause and try again.
        receiving = false;
        summary.receiveErrors++;
        log.error('receive failed; retrying', { error: errorMessage(e) });
        await pause(o.receiveErrorPauseMs ?? 2_000);
      }
    }
    state = 'stopped';
    log.info('subscriber stopped', { ...summary });
    return summary;
  };
  const done = loop();

  return {
    get state() {
      return state;
    },
    get receiving() {
      return receiving;
    },
    stop(reason = 'stopped') {
      if (state === 'running') {
        state = 'draining';
        summary.stoppedBecause = reason;
        log.info('subscriber draining: no new receive; finishing the batch in flight', { reason });
        stopping.abort();
      }
      return done;
    },
    done,
  };
}

/** A summary with nothing counted yet (also what a subscriber that never started reports). */
export function emptySubscriberSummary(stoppedBecause: string): SubscriberSummary {
  return { ...emptyIngestCounts(), batches: 0, receiveErrors: 0, stoppedBecause };
}

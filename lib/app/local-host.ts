/**
 * Hosts the function set in one process, the way the Functions host would: the timers on their
 * NCRONTAB schedules (lib/app/catalog.ts), a queue-triggered ingest (pulling the ingest queue),
 * dispatch-woken processors (the dispatch queue), and the HTTP routes under /api. Used by `npm start`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdminServer, type AdminServer } from '../admin/node-http.js';
import type { QueueProvider } from '../queues/provider.js';
import { schedules } from './catalog.js';
import { fromProviders, observeHostSignals } from './host-queues.js';
import { adminRouterFor, ingestPipelineFor, processInvocation, reclaimInvocation } from './invocations.js';
import { parseNcrontab } from './ncrontab.js';
import { resolveWorkerIdentity } from '../worker/identity.js';
import type { AppServices } from './services.js';

/**
 * AzureStorage:MaxPollingInterval on the local runtime when it runs on Azurite: an emulator bills no
 * requests, so an idle ingest queue is polled often and a new message starts within ~100 ms (a real
 * account keeps the setting's default, a latency/cost trade-off the user sets).
 */
export const EMULATOR_MAX_POLLING_INTERVAL_MS = 100;

export interface LocalHostOptions {
  services: AppServices;
  ingest: QueueProvider;
  dispatch: QueueProvider;
  /** Default 7071 (the Functions host's port). */
  port?: number;
  host?: string;
  /** Budget of one processor invocation, like a function timeout (default 10 minutes). */
  invocationTimeoutMs?: number;
}

export interface LocalHost {
  api: AdminServer;
  /** Resolves when every loop has stopped. */
  stop(): Promise<void>;
}

export async function startLocalHost(o: LocalHostOptions): Promise<LocalHost> {
  const s = o.services;
  const log = s.logger.child({ component: 'local-host' });
  const stopping = new AbortController();
  /** A loop's pause after a failure, cut short by stop(). */
  const pause = (ms: number) => sleep(ms, undefined, { signal: stopping.signal }).catch(() => undefined);
  const loops: Promise<void>[] = [];
  const invocation = (functionName: string) => ({ invocationId: randomUUID(), functionName });
  const timeoutMs = o.invocationTimeoutMs ?? 10 * 60_000;
  // One worker identity for every processor invocation of this host (one registry record, not one per wake-up).
  const identity = resolveWorkerIdentity({
    ...(s.config.Worker.StateDirectory ? { stateDirectory: s.config.Worker.StateDirectory } : {}),
  });

  /**
   * One processor invocation at a time, like one instance of the processor function. A wake-up while
   * one runs reaches its worker directly (it subscribes to s.wake) and asks for one more invocation
   * after it, so a wake-up that came as the worker was finding nothing left is not lost.
   */
  let processing: Promise<unknown> = Promise.resolve();
  let queued = false;
  const runProcessor = (fn: string) => {
    if (queued) return processing;
    queued = true;
    processing = processing.then(() => {
      queued = false;
      if (stopping.signal.aborted) return undefined;
      return processInvocation(s, {
        ...invocation(fn),
        identity,
        // Warm through a stream of work: the next wake-up is served by a worker already listening.
        idleLingerMs: 2_000,
        deadline: Date.now() + timeoutMs,
        signal: stopping.signal,
      }).catch((e: unknown) => log.error('processor invocation failed', { function: fn, err: e }));
    });
    return processing;
  };

  // Wake-ups from this process (API, ingest, retries) and from other processes (through the database).
  const unsubscribe = s.wake.subscribe(() => void runProcessor('processor-wake'));

  const timer = (name: string, expression: string, run: () => Promise<unknown>) => {
    const schedule = parseNcrontab(expression);
    loops.push(
      (async () => {
        while (!stopping.signal.aborted) {
          const wait = schedule.next(new Date()).getTime() - Date.now();
          try {
            await sleep(Math.max(0, wait), undefined, { signal: stopping.signal });
          } catch {
            return;
          }
          await run().catch((e: unknown) => log.error('timer function failed', { function: name, err: e }));
        }
      })(),
    );
  };

  // Ingest: what a queue trigger does, as a pull loop (one batch after another; the provider long-polls).
  const pipeline = ingestPipelineFor(s, {
    provider: o.ingest,
    logger: s.logger.child({ function: 'ingest' }),
  });
  loops.push(
    (async () => {
      while (!stopping.signal.aborted) {
        try {
          // Stopping ends the long poll (Ingest:ReceiveWaitTime) at once; a batch already received is finished.
          const r = await pipeline.pullOnce({ signal: stopping.signal });
          if (r.received > 0) log.info('ingest batch', { ...r });
          if (r.storeError) await pause(1_000);
        } catch (e) {
          log.error('ingest pull failed', { queue: o.ingest.queueName, err: e });
          await pause(2_000);
        }
      }
    })(),
  );

  // Dispatch: each wake-up message starts a processor invocation (the storage-queue trigger on Azure).
  // This host wakes its processors in process; the queue still serves whoever else sends to it.
  loops.push(
    (async () => {
      while (!stopping.signal.aborted) {
        try {
          const wakeUps = await o.dispatch.receive({ maxMessages: 32, waitMs: 1_000, signal: stopping.signal });
          if (wakeUps.length === 0) continue;
          await Promise.all(wakeUps.map((m) => o.dispatch.complete(m)));
          await runProcessor('processor-dispatch');
        } catch (e) {
          log.error('dispatch poll failed', { queue: o.dispatch.queueName, err: e });
          await pause(2_000);
        }
      }
    })(),
  );

  timer('processor-sweep', schedules.processorSweep, () => runProcessor('processor-sweep'));
  timer('reclaimer', schedules.reclaimer, () => reclaimInvocation(s, invocation('reclaimer')));

  const queues = fromProviders(o.ingest, o.dispatch);
  const router = adminRouterFor(s, {
    queues: queues.all,
    ...(queues.enqueue ? { enqueue: queues.enqueue } : {}),
    router: { auth: 'key', basePath: '/api' },
  });
  const stopObserving = observeHostSignals(s, queues.all);
  const api = await createAdminServer(router, {
    port: o.port ?? 7071,
    host: o.host ?? '127.0.0.1',
    prefix: '/api',
    logger: s.logger,
  });

  return {
    api,
    async stop() {
      stopping.abort();
      unsubscribe();
      stopObserving();
      await api.close();
      await Promise.allSettled(loops);
      await processing.catch(() => undefined);
      identity.release();
    },
  };
}

/**
 * A long-running subscriber process (`npm run subscriber`, the Kubernetes subscriber Deployment):
 * serves the probes, connects (waiting for the database if it is not up yet, not ready meanwhile),
 * builds the configured ingest provider (Ingest:Provider), observes the queue and backlog gauges, runs
 * the subscriber until SIGTERM/SIGINT, drains, and closes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Logger } from '../log/logger.js';
import { createQueueProvider } from '../queues/factory.js';
import type { QueueProvider } from '../queues/provider.js';
import { errorMessage } from '../errors/message.js';
import { observeHostSignals } from './host-queues.js';
import { startProbeServer, type ProbeStatus } from './probe-server.js';
import { createServices, shutdownTelemetry, type AppServices } from './services.js';
import { emptySubscriberSummary, startSubscriber, type Subscriber, type SubscriberSummary } from './subscriber.js';

export interface SubscriberProcessOptions {
  config: AppConfig;
  logger: Logger;
  /** Probe port (0: any free port, logged in the ready line). */
  probePort: number;
  /** Probe address (default 0.0.0.0: the kubelet probes the pod's IP). */
  probeHost?: string;
  /** A second signal while draining: the caller decides (the tool exits; the unsettled messages come back). */
  onSecondSignal?: (signal: NodeJS.Signals) => void;
}

export async function runSubscriberProcess(o: SubscriberProcessOptions): Promise<SubscriberSummary> {
  const log = o.logger.child({ component: 'subscriber-process' });
  const stopping = new AbortController();
  let stopReason: NodeJS.Signals | undefined;
  let subscriber: Subscriber | undefined;
  let firstSignalAt: number | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    // One Ctrl-C can arrive twice (the terminal signals the process group, and npm forwards it too):
    // a repeat within a second is the same request, not the "stop now" of a second signal.
    if (firstSignalAt !== undefined && Date.now() - firstSignalAt < 1_000) return;
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      log.info('signal received: draining', { signal: sig });
      stopReason = sig;
      stopping.abort();
      void subscriber?.stop(sig);
    } else {
      log.warn('second signal while draining', { signal: sig });
      o.onSecondSignal?.(sig);
    }
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);

  // Probes first: while the database is not reachable yet the pod is alive but not ready (no restart loop).
  const status = (): { live: ProbeStatus; ready: ProbeStatus } => {
    if (!subscriber) return { live: { ok: true, detail: 'connecting' }, ready: { ok: false, detail: 'connecting' } };
    const state = subscriber.state;
    return {
      live: { ok: state !== 'stopped', detail: state },
      ready:
        state !== 'running'
          ? { ok: false, detail: state }
          : subscriber.receiving
            ? { ok: true, detail: 'receiving' }
            : { ok: false, detail: 'receives are failing' },
    };
  };
  let services: AppServices | undefined;
  let provider: QueueProvider | undefined;
  let stopObserving: (() => void) | undefined;
  const probes = await startProbeServer({
    port: o.probePort,
    host: o.probeHost ?? '0.0.0.0',
    live: () => status().live,
    ready: () => status().ready,
  }).catch((e: unknown) => {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    throw e;
  });
  log.info('probes listening', { probePort: probes.port, liveness: '/healthz', readiness: '/readyz' });
  try {
    services = await connectWithRetry(o, log, stopping.signal);
    if (!services) return emptySubscriberSummary(stopReason ?? 'stopped');
    provider = await createQueueProvider(o.config, { logger: services.logger });
    try {
      // Idempotent; the templates declare the queues, and a role without the right to create them is fine.
      await provider.ensureQueues();
    } catch (e) {
      log.warn('could not ensure the queues exist (going on)', { error: errorMessage(e) });
    }
    subscriber = startSubscriber({ services, provider });
    if (stopReason) void subscriber.stop(stopReason);
    stopObserving = observeHostSignals(services, [provider]);
    log.info('subscriber ready', {
      probePort: probes.port,
      provider: provider.kind,
      queue: provider.queueName,
      database: o.config.MongoDB.DatabaseName,
    });
    return await subscriber.done;
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    stopObserving?.();
    await probes.close();
    await provider?.close().catch(() => undefined);
    await services?.close().catch(() => undefined);
    await shutdownTelemetry();
  }
}

/** The services, once the database answers; undefined when a signal came first. A bad configuration throws. */
async function connectWithRetry(
  o: SubscriberProcessOptions,
  log: Logger,
  signal: AbortSignal,
): Promise<AppServices | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      return await createServices({ runtime: 'process', config: o.config, logger: o.logger });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      if (signal.aborted) return undefined;
      const delayMs = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
      log.warn('database not reachable yet; retrying', { attempt, delayMs, error: errorMessage(e) });
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }
  return undefined;
}

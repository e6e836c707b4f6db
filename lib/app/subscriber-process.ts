/**
 * A long-running subscriber process (`npm run subscriber`, the Kubernetes subscriber Deployment):
 * builds the services and the configured ingest provider (Ingest:Provider), observes the queue and
 * backlog gauges, serves the probes, runs the subscriber until SIGTERM/SIGINT, drains, and closes.
 */
import type { AppConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { createQueueProvider } from '../queues/factory.js';
import type { QueueProvider } from '../queues/provider.js';
import { errorMessage } from '../errors/message.js';
import { observeHostSignals } from './host-queues.js';
import { startProbeServer, type ProbeServer } from './probe-server.js';
import { createServices, shutdownTelemetry, type AppServices } from './services.js';
import { startSubscriber, type SubscriberSummary } from './subscriber.js';

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
  // A signal before the subscriber runs: nothing was received yet, so stopping is just not starting.
  let early: NodeJS.Signals | undefined;
  const onEarly = (sig: NodeJS.Signals) => {
    early = sig;
  };
  process.on('SIGTERM', onEarly).on('SIGINT', onEarly);
  let services: AppServices | undefined;
  let provider: QueueProvider | undefined;
  try {
    services = await createServices({ runtime: 'process', config: o.config, logger: o.logger });
    provider = await createQueueProvider(o.config, { logger: services.logger });
    try {
      // Idempotent; the templates declare the queues, and a role without the right to create them is fine.
      await provider.ensureQueues();
    } catch (e) {
      log.warn('could not ensure the queues exist (going on)', { error: errorMessage(e) });
    }
  } catch (e) {
    process.off('SIGTERM', onEarly).off('SIGINT', onEarly);
    await provider?.close().catch(() => undefined);
    await services?.close().catch(() => undefined);
    throw e;
  }

  const subscriber = startSubscriber({ services, provider });
  const stopObserving = observeHostSignals(services, [provider]);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info('signal received: draining', { signal: sig });
      void subscriber.stop(sig);
    } else {
      log.warn('second signal while draining', { signal: sig });
      o.onSecondSignal?.(sig);
    }
  };
  process.off('SIGTERM', onEarly).off('SIGINT', onEarly);
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  if (early) onSignal(early);

  let probes: ProbeServer | undefined;
  try {
    probes = await startProbeServer({
      port: o.probePort,
      host: o.probeHost ?? '0.0.0.0',
      live: () => ({ ok: subscriber.state !== 'stopped', detail: subscriber.state }),
      ready: () =>
        subscriber.state !== 'running'
          ? { ok: false, detail: subscriber.state }
          : subscriber.receiving
            ? { ok: true, detail: 'receiving' }
            : { ok: false, detail: 'receives are failing' },
    });
    log.info('subscriber ready', {
      probePort: probes.port,
      provider: provider.kind,
      queue: provider.queueName,
      database: o.config.MongoDB.DatabaseName,
    });
  } catch (e) {
    log.error('probe server could not start; stopping', { port: o.probePort, error: errorMessage(e) });
    void subscriber.stop('probe-server-failed');
  }

  try {
    return await subscriber.done;
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    stopObserving();
    await probes?.close();
    await provider.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    await shutdownTelemetry();
  }
}

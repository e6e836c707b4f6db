/**
 * `npm run worker`: one long-lived worker process, the container command of the Kubernetes
 * deployment. Configured from the environment like everything else (`Worker__BatchSize`,
 * `MongoDB__DatabaseName`, MONGODB_URI, NODE_NAME/POD_NAME/INSTANCE_ID, ...). Runs the application's
 * handlers (handlers/ or Handlers:Module, plus the built-ins) and reclaimer passes until SIGTERM/SIGINT.
 *
 *   --no-reclaimer     do not run reclaimer passes in this process
 *   --probe-port <n>   liveness /healthz and readiness /readyz (default 8080; 0 = any free port). Live
 *                      while the run loop turns; ready while it runs (not while waiting for the
 *                      database, paused on an outage, or draining). With the default port already in use
 *                      (several workers on one machine) the worker runs without probes; a port given
 *                      explicitly must be free.
 *   --probe-host <a>   address the probes listen on (default 0.0.0.0)
 *
 * The script is `exec node --import tsx tools/worker.ts`: npm passes SIGTERM to its script's shell,
 * and the shell only passes it on when it has exec'd the worker (otherwise the worker would not drain
 * before the pod's SIGKILL).
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError, type AppConfig } from '../lib/config/index.js';
import { parseProbePort } from '../lib/app/probe-server.js';
import { startWorkerProbes, type WorkerProbes } from '../lib/app/worker-probes.js';
import { createLogger } from '../lib/log/logger.js';
import { HandlerModuleError, loadHandlers } from '../lib/handlers/index.js';
import { runWorkerProcess } from '../lib/worker/index.js';

const logger = createLogger({ bindings: { app: 'taskmesh-worker' } });

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'no-reclaimer': { type: 'boolean', default: false },
        'probe-port': { type: 'string' },
        'probe-host': { type: 'string', default: '0.0.0.0' },
      },
    }));
  } catch (e) {
    logger.error('invalid arguments', { error: e instanceof Error ? e.message : String(e) });
    return 2;
  }
  const probePort = parseProbePort(values['probe-port'] ?? '8080');
  if (probePort === undefined) {
    logger.error('invalid --probe-port', { given: values['probe-port'], expected: 'a port number 0-65535' });
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      logger.error('invalid configuration', { problems: e.problems });
      return 2;
    }
    throw e;
  }
  // Probes first: while handlers load and the database is not reachable yet, live but not ready.
  const probes = await startWorkerProbes({
    port: probePort,
    host: values['probe-host'],
    pollingIntervalMs: config.Worker.PollingInterval,
    logger,
    // Only the default port may be taken (several workers on one machine); one asked for must be served.
    optional: values['probe-port'] === undefined,
  });
  try {
    return await run(config, !values['no-reclaimer'], probes);
  } finally {
    await probes.close();
  }
}

async function run(config: AppConfig, reclaimer: boolean, probes: WorkerProbes): Promise<number> {
  let handlers;
  try {
    handlers = await loadHandlers(config);
  } catch (e) {
    if (e instanceof HandlerModuleError) {
      logger.error('handler module could not be loaded', { module: e.module, error: e.message });
      return 2;
    }
    throw e;
  }
  logger.info('handlers loaded', { types: handlers.types() });
  try {
    const summary = await runWorkerProcess({
      config,
      handlers,
      logger,
      reclaimer,
      onStarted: (worker) => probes.attach(worker),
    });
    return summary.stoppedBecause === 'error' ? 1 : 0;
  } finally {
    await handlers.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    logger.error('worker failed', { error: e });
    process.exit(1);
  },
);

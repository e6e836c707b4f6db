/**
 * `npm run subscriber`: the long-running subscriber, the container command of the Kubernetes
 * subscriber Deployment. Moves messages from the configured queue (Ingest:Provider: storage-queue,
 * mns or service-bus) into tasks until SIGTERM/SIGINT (waiting for the database at start, not ready
 * meanwhile), then stops receiving, finishes the batch in
 * flight (tasks stored, messages settled) and exits 0. A second signal exits at once (1): the unsettled
 * messages come back after their visibility timeout and are deduplicated. Exits 2 on a bad configuration.
 *
 *   --probe-port <n>   liveness /healthz and readiness /readyz (default 8080; 0 = any free port)
 *   --probe-host <a>   address the probes listen on (default 0.0.0.0)
 *
 * Like `npm run worker`, the script execs node so that SIGTERM reaches this process.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../lib/config/index.js';
import { createLogger } from '../lib/log/logger.js';
import { parseProbePort } from '../lib/app/probe-server.js';
import { runSubscriberProcess } from '../lib/app/subscriber-process.js';

const logger = createLogger({ bindings: { app: 'taskmesh-subscriber' } });

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'probe-port': { type: 'string', default: '8080' },
      'probe-host': { type: 'string', default: '0.0.0.0' },
    },
  });
  const probePort = parseProbePort(values['probe-port']);
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
  try {
    const summary = await runSubscriberProcess({
      config,
      logger,
      probePort,
      probeHost: values['probe-host'],
      onSecondSignal: () => process.exit(1),
    });
    logger.info('subscriber exited', { ...summary });
    return 0;
  } catch (e) {
    // e.g. Ingest:Provider service-bus without a queue or topic: a configuration problem, not a crash.
    if (e instanceof ConfigError) {
      logger.error('invalid configuration', { problems: e.problems });
      return 2;
    }
    throw e;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    logger.error('subscriber failed', { error: e });
    process.exit(1);
  },
);

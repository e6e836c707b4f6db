/**
 * `npm run worker`: one long-lived worker process, the container command of the Kubernetes
 * deployment. Configured from the environment like everything else (`Worker__BatchSize`,
 * `MongoDB__DatabaseName`, MONGODB_URI, NODE_NAME/POD_NAME/INSTANCE_ID, ...). Runs the application's
 * handlers (handlers/ or Handlers:Module, plus the built-ins) and reclaimer passes until SIGTERM/SIGINT.
 *
 *   --no-reclaimer   do not run reclaimer passes in this process
 *
 * The script is `exec node --import tsx tools/worker.ts`: npm passes SIGTERM to its script's shell,
 * and the shell only passes it on when it has exec'd the worker (otherwise the worker would not drain
 * before the pod's SIGKILL).
 */
import { loadConfig, ConfigError } from '../lib/config/index.js';
import { createLogger } from '../lib/log/logger.js';
import { HandlerModuleError, loadHandlers } from '../lib/handlers/index.js';
import { runWorkerProcess } from '../lib/worker/index.js';

const logger = createLogger({ bindings: { app: 'taskmesh-worker' } });

async function main(): Promise<number> {
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
      reclaimer: !process.argv.includes('--no-reclaimer'),
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

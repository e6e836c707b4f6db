/**
 * `npm start`: the whole system on this machine. Starts the database (mongo-java-server, file-backed
 * under .data/, unless MONGODB_URI is set) and Azurite (unless AzureStorage__ConnectionString points
 * elsewhere), then hosts the function set: ingest from the configured queue (an Azure Storage queue by
 * default), dispatch-woken processors and the sweep, the reclaimer, and the HTTP routes on
 * http://127.0.0.1:7071/api. Every setting can be overridden with Section__Key environment variables.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../lib/config/index.js';
import { ConfigError } from '../lib/config/errors.js';
import { createLogger } from '../lib/log/logger.js';
import { createServices, shutdownTelemetry } from '../lib/app/services.js';
import { startLocalHost } from '../lib/app/local-host.js';
import { createQueueProvider } from '../lib/queues/factory.js';
import { startMongoServer, type MongoServerHandle } from './mongo-server.js';
import { startAzuriteQueue, type AzuriteHandle } from './azurite.js';

const dataDir = resolve(process.env.TASKMESH_DATA_DIR ?? '.data');
const env = process.env;

/** The admin key: Admin__ApiKey, else one generated once and kept in .data so it survives restarts. */
function adminKey(): { key: string; generated: boolean } {
  if (env.Admin__ApiKey) return { key: env.Admin__ApiKey, generated: false };
  const file = join(dataDir, 'admin-api-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), generated: true };
  const key = randomBytes(24).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, generated: true };
}

async function main() {
  mkdirSync(dataDir, { recursive: true });
  const log = createLogger().child({ component: 'local-runtime' });
  let db: MongoServerHandle | undefined;
  let azurite: AzuriteHandle | undefined;
  const cleanup = async () => {
    await azurite?.stop().catch(() => undefined);
    await db?.stop().catch(() => undefined);
  };
  try {
    // Validate the user's settings before starting anything.
    const userConfig = loadConfig();
    if (!env.MONGODB_URI) {
      db = await startMongoServer({
        backend: 'h2',
        file: join(dataDir, 'taskmesh.mv'),
        port: Number(env.TASKMESH_DB_PORT ?? 27018),
      });
    }
    const usesAzurite =
      !env.AzureStorage__ConnectionString || env.AzureStorage__ConnectionString === 'UseDevelopmentStorage=true';
    // The dispatch queue is always a Storage queue, whatever the ingest provider.
    void userConfig;
    if (usesAzurite)
      azurite = await startAzuriteQueue({
        location: join(dataDir, 'azurite'),
        queuePort: Number(env.TASKMESH_AZURITE_PORT ?? 10001),
      });
    const { key, generated } = adminKey();
    const config = loadConfig({
      env: {
        ...env,
        MONGODB_URI: env.MONGODB_URI ?? db!.uri,
        ...(azurite ? { AzureStorage__ConnectionString: azurite.connectionString } : {}),
        Admin__ApiKey: key,
      },
    });
    const services = await createServices({ runtime: 'local', config, logger: createLogger() });
    const ingest = await createQueueProvider(config, { logger: services.logger });
    const dispatch = await createQueueProvider(config, { queue: 'dispatch', logger: services.logger });
    await Promise.all([ingest.ensureQueues(), dispatch.ensureQueues()]);
    const host = await startLocalHost({ services, ingest, dispatch, port: Number(env.TASKMESH_PORT ?? 7071) });
    const stats = await services.store.stats();
    const api = host.api.url;
    log.info('local runtime ready', {
      api,
      database: config.MongoDB.DatabaseName,
      mongoUri: config.MongoDB.ConnectionString,
      ingestQueue: `${ingest.kind}:${ingest.queueName}`,
      dispatchQueue: dispatch.queueName,
      tasks: stats.total,
    });
    const lines = [
      '',
      'taskmesh is running.',
      `  API        ${api}   (key: ${generated ? `${key}  generated, kept in ${join(dataDir, 'admin-api-key')}` : 'from Admin__ApiKey'})`,
      `  Dashboard  ${api}/dashboard?code=${key}`,
      `  Database   ${config.MongoDB.ConnectionString}  (database "${config.MongoDB.DatabaseName}", ${stats.total} tasks kept${db ? `, file ${join(dataDir, 'taskmesh.mv')}` : ''})`,
      `  Ingest     ${ingest.kind} queue "${ingest.queueName}"${azurite ? ` on Azurite ${azurite.queueEndpoint}` : ''}; dispatch queue "${dispatch.queueName}"`,
      '',
      'Send a first message (it becomes a task and runs):',
      `  curl -s -X POST ${api}/messages -H 'x-functions-key: ${key}' -H 'content-type: application/json' \\`,
      `       -d '{"body":"{\\"type\\":\\"echo\\",\\"payload\\":{\\"hello\\":\\"world\\"}}"}'`,
      `  curl -s ${api}/tasks -H 'x-functions-key: ${key}'`,
      '',
      `More workers:  MONGODB_URI=${config.MongoDB.ConnectionString} npm run worker`,
      'Ctrl-C stops everything gracefully; the tasks stay for the next start.',
      '',
    ];
    process.stdout.write(lines.join('\n'));
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      await host.stop();
      await ingest.close();
      await dispatch.close();
      await services.close();
      await shutdownTelemetry();
      await cleanup();
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  } catch (e) {
    await cleanup();
    if (e instanceof ConfigError) console.error(e.message);
    else console.error('taskmesh could not start:', e instanceof Error ? e.message : e);
    process.exit(1);
  }
}

void main();

/**
 * `npm start`: the whole system on this machine. Starts the database (mongo-java-server, file-backed
 * under .data/, unless MONGODB_URI is set) and Azurite (unless AzureStorage__ConnectionString points
 * elsewhere), then hosts the function set: ingest from the configured queue (an Azure Storage queue by
 * default), dispatch-woken processors and the sweep, the reclaimer, and the HTTP routes on
 * http://127.0.0.1:7071/api. Every setting can be overridden with Section__Key environment variables.
 *
 * Crash-safe: the helper servers end with this process however it ends (their stdin is our pipe), are
 * recorded in .data/pids so a start after a crash ends any left behind, and are restarted on the same
 * port and data when they die. Ctrl-C stops gracefully within Worker:ShutdownTimeout (plus a margin),
 * even with the database down (tasks not released are reclaimed later, as after a crash); a second
 * Ctrl-C exits at once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../lib/config/index.js';
import { ConfigError } from '../lib/config/errors.js';
import { createLogger } from '../lib/log/logger.js';
import { createServices, shutdownTelemetry } from '../lib/app/services.js';
import { EMULATOR_MAX_POLLING_INTERVAL_MS, startLocalHost } from '../lib/app/local-host.js';
import { createQueueProvider } from '../lib/queues/factory.js';
import { startMongoServer, type MongoServerHandle } from './mongo-server.js';
import { startAzuriteQueue, type AzuriteHandle } from './azurite.js';
import { endStaleChildren, forgetChild, recordChild } from './child-process.js';

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

type Logger = ReturnType<typeof createLogger>;

/**
 * Keeps a helper server running: records its pid, and when it exits without being asked to, starts it
 * again (same port, same data) with a growing pause.
 */
class Supervised<H extends { pid: number; exited: Promise<void>; stop(): Promise<void> }> {
  private handle: H | undefined;
  private stopping = false;

  constructor(
    private readonly name: string,
    private readonly marker: string,
    private readonly startOnce: (previous: H | undefined) => Promise<H>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<H> {
    this.handle = await this.startOnce(undefined);
    this.watch(this.handle);
    return this.handle;
  }

  private watch(h: H): void {
    recordChild(dataDir, { name: this.name, pid: h.pid, marker: this.marker });
    void h.exited.then(async () => {
      if (this.stopping || this.handle !== h) return;
      this.log.error(`${this.name} exited unexpectedly; restarting it`, { pid: h.pid });
      for (let attempt = 1; !this.stopping; attempt++) {
        await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))));
        if (this.stopping) return;
        try {
          const next = await this.startOnce(h);
          this.handle = next;
          this.log.info(`${this.name} restarted`, { pid: next.pid, attempt });
          this.watch(next);
          return;
        } catch (err) {
          this.log.error(`restarting ${this.name} failed; trying again`, {
            attempt,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.handle?.stop().catch(() => undefined);
    forgetChild(dataDir, this.name);
  }
}

async function main() {
  mkdirSync(dataDir, { recursive: true });
  const log = createLogger().child({ component: 'local-runtime' });
  let dbSup: Supervised<MongoServerHandle> | undefined;
  let azSup: Supervised<AzuriteHandle> | undefined;
  const cleanup = async () => {
    await azSup?.stop();
    await dbSup?.stop();
  };
  try {
    // A previous run killed before it could stop its helpers (or one from before they watched their parent).
    const stale = await endStaleChildren(dataDir);
    if (stale.length) log.warn('ended helper servers a previous run left behind', { ended: stale });
    // Validate the user's settings before starting anything.
    const userConfig = loadConfig();
    let db: MongoServerHandle | undefined;
    if (!env.MONGODB_URI) {
      dbSup = new Supervised<MongoServerHandle>(
        'database',
        'MongoServerLauncher',
        (previous) =>
          startMongoServer({
            backend: 'h2',
            file: join(dataDir, 'taskmesh.mv'),
            port: previous?.port ?? Number(env.TASKMESH_DB_PORT ?? 27018),
          }),
        log,
      );
      db = await dbSup.start();
    }
    const usesAzurite =
      !env.AzureStorage__ConnectionString || env.AzureStorage__ConnectionString === 'UseDevelopmentStorage=true';
    // The dispatch queue is always a Storage queue, whatever the ingest provider.
    void userConfig;
    let azurite: AzuriteHandle | undefined;
    if (usesAzurite) {
      azSup = new Supervised<AzuriteHandle>(
        'azurite',
        'azurite',
        (previous) =>
          startAzuriteQueue({
            location: join(dataDir, 'azurite'),
            queuePort: previous?.queuePort ?? Number(env.TASKMESH_AZURITE_PORT ?? 10001),
          }),
        log,
      );
      azurite = await azSup.start();
    }
    const { key, generated } = adminKey();
    const config = loadConfig({
      env: {
        ...env,
        MONGODB_URI: env.MONGODB_URI ?? db!.uri,
        ...(azurite ? { AzureStorage__ConnectionString: azurite.connectionString } : {}),
        ...(azurite && !env.AzureStorage__MaxPollingInterval
          ? { AzureStorage__MaxPollingInterval: String(EMULATOR_MAX_POLLING_INTERVAL_MS) }
          : {}),
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
    // The graceful stop's budget: running tasks get Worker:ShutdownTimeout, closing the rest a margin.
    const budgetMs = config.Worker.ShutdownTimeout + 10_000;
    const stop = async (signal: string) => {
      if (stopping) {
        log.warn('second signal: exiting at once (tasks not released are reclaimed later)', { signal });
        process.exit(130);
      }
      stopping = true;
      log.info('stopping', { signal, budgetMs });
      const forced = setTimeout(() => {
        log.error('graceful stop took longer than its budget; exiting (tasks not released are reclaimed later)', {
          budgetMs,
        });
        void cleanup().finally(() => process.exit(1));
      }, budgetMs);
      forced.unref();
      try {
        await host.stop();
        await ingest.close();
        await dispatch.close();
        await services.close();
        await shutdownTelemetry();
      } catch (e) {
        log.error('stopping failed; exiting anyway', { error: e instanceof Error ? e.message : String(e) });
      }
      await cleanup();
      clearTimeout(forced);
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

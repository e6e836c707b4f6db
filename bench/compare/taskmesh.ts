/**
 * taskmesh: our Worker (lib/worker) and TaskStore on MongoDB, set up as bench/worker.ts does and as a
 * worker process runs it (registry record, reclaimer loop in the same process).
 * Settings: BatchSize = Concurrency (unless `batchSize` says otherwise), PollingInterval = pollMs,
 * HeartbeatInterval = lease.refreshMs, HeartbeatTimeout = lease.timeoutMs, reclaimer every lease.checkMs,
 * RetryBaseDelay 0 (a reclaimed task is due at once, as in the other systems). Composed with wake-ups as a
 * worker process is (lib/wake): enqueues announce, the worker listens in process and, from another
 * process, through the database. `wake: false` composes it as before issue 15 (plain store, no hub, the
 * worker finds work by its adaptive polling alone), so a run can set wake-ups' cost beside it.
 */
import { MongoClient, type Db } from 'mongodb';
import { z } from 'zod';
import { loadConfig, type AppConfig } from '../../lib/config/index.js';
import { startReclaimerLoop, type ReclaimerLoop } from '../../lib/reclaimer/index.js';
import { createTaskStore, taskStoreOptions } from '../../lib/store/create.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { defineHandler, HandlerRegistry } from '../../lib/handlers/index.js';
import { createWorker, type Worker } from '../../lib/worker/index.js';
import { WorkerRegistry } from '../../lib/worker-registry/index.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import { announcingStore, createWakeHub, ensureWakeIndexes, type WakeHub } from '../../lib/wake/index.js';
import type { AdapterConfig, QueueAdapter, StartWorkerOptions } from './types.js';

export const TASK_TYPE = 'bench.noop';

export function taskmeshConfig(c: AdapterConfig, concurrency: number): AppConfig {
  return loadConfig({
    env: {},
    overrides: {
      Worker: {
        BatchSize: c.batchSize ?? concurrency,
        Concurrency: concurrency,
        PollingInterval: c.pollMs,
        HeartbeatInterval: c.lease.refreshMs,
        HeartbeatTimeout: c.lease.timeoutMs,
        RetryBaseDelay: 0,
        ShutdownTimeout: 2_000,
      },
    },
  });
}

export const taskmeshDbName = (ns: string) => `bench_cmp_${ns}`;

/** Resolves when `signal` aborts, or after `capMs` (a bound on any hanging handler). */
export function hangUntil(signal: AbortSignal | undefined, capMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, capMs);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      resolve();
    }
    if (signal?.aborted) finish();
    else signal?.addEventListener('abort', finish, { once: true });
  });
}

export const HANG_CAP_MS = 120_000;

export class TaskmeshAdapter implements QueueAdapter {
  readonly system = 'taskmesh' as const;
  readonly label: string;
  private client: MongoClient | undefined;
  private db: Db | undefined;
  private store: MongoTaskStore | undefined;
  /** What enqueues go through: the announcing store with wake-ups, the plain store without. */
  private announcing: TaskStore | undefined;
  private hub: WakeHub | undefined;
  private readonly workers: { worker: Worker; reclaimer: ReclaimerLoop }[] = [];
  private readonly stopAll = new AbortController();
  /** Commands sent, by name, while `counting` (only with `monitorCommands`). */
  readonly commands = new Map<string, number>();
  counting = false;
  /** Documents inserted, updated or deleted while `counting` (only with `monitorCommands`). */
  docsWritten = 0;

  constructor(
    private readonly c: AdapterConfig,
    private readonly opts: { monitorCommands?: boolean; label?: string; wake?: boolean } = {},
  ) {
    this.label = opts.label ?? 'taskmesh';
  }

  private get withWake(): boolean {
    return this.opts.wake !== false;
  }

  async setup(): Promise<void> {
    this.client = new MongoClient(this.c.mongoUri, {
      maxPoolSize: 100,
      monitorCommands: this.opts.monitorCommands === true,
    });
    this.client.on('commandStarted', (e) => {
      if (this.counting) this.commands.set(e.commandName, (this.commands.get(e.commandName) ?? 0) + 1);
    });
    this.client.on('commandSucceeded', (e) => {
      if (this.counting) this.docsWritten += documentsWritten(e.commandName, e.reply);
    });
    await this.client.connect();
    this.db = this.client.db(taskmeshDbName(this.c.ns));
    this.store = new MongoTaskStore(this.db, taskStoreOptions(taskmeshConfig(this.c, 1)));
    if (this.withWake) this.hub = createWakeHub(this.db, {});
    this.announcing = this.hub ? announcingStore(this.store, this.hub) : this.store;
    await this.store.ensureIndexes();
    await new WorkerRegistry(this.db).ensureIndexes();
    if (this.hub) await ensureWakeIndexes(this.db);
  }

  private get s(): MongoTaskStore {
    if (!this.store) throw new Error('taskmesh adapter: setup() first');
    return this.store;
  }

  async enqueueOne(n: number): Promise<void> {
    await this.announcing!.ingest([{ type: TASK_TYPE, payload: { n } }]);
  }

  async enqueueBulk(ns: readonly number[]): Promise<void> {
    await this.announcing!.ingest(ns.map((n) => ({ type: TASK_TYPE, payload: { n } })));
  }

  async startWorker(o: StartWorkerOptions): Promise<void> {
    const db = this.db!;
    const config = taskmeshConfig(this.c, o.concurrency);
    const hub = this.hub;
    const plain = createTaskStore(db, config);
    const store = hub ? announcingStore(plain, hub) : plain;
    const registry = new WorkerRegistry(db);
    const byTask = new Map<string, number>();
    const stopAll = this.stopAll.signal;
    const handlers = new HandlerRegistry([
      defineHandler({
        type: TASK_TYPE,
        schema: z.object({ n: z.number() }),
        run: async ({ n }, ctx) => {
          byTask.set(ctx.taskId, n);
          o.onStart?.(n);
          if (o.mode === 'hang') await hangUntil(AbortSignal.any([ctx.signal, stopAll]), HANG_CAP_MS);
        },
      }),
    ]);
    const worker = createWorker({
      store,
      registry,
      handlers,
      settings: config.Worker,
      ...(hub ? { wake: hub } : {}),
      hooks: {
        onTaskFinished: (out) => {
          const n = byTask.get(out.taskId);
          byTask.delete(out.taskId);
          if (out.outcome === 'succeeded' && n !== undefined) o.onDone?.(n);
        },
      },
    });
    const reclaimer = startReclaimerLoop({ db, store, config, by: worker.id, everyMs: this.c.lease.checkMs });
    this.workers.push({ worker, reclaimer });
    worker.start();
  }

  async completed(): Promise<number> {
    return this.s.tasks.countDocuments({ status: S.Succeeded });
  }

  async stop(): Promise<void> {
    this.stopAll.abort();
    const ws = this.workers.splice(0);
    await Promise.all(
      ws.map(async ({ worker, reclaimer }) => {
        await worker.stop('stopped', { timeoutMs: 2_000 });
        await reclaimer.stop();
      }),
    );
  }

  async teardown(opts: { drop?: boolean } = {}): Promise<void> {
    await this.stop();
    await this.hub?.close();
    this.hub = undefined;
    if (opts.drop) await this.db?.dropDatabase().catch(() => undefined);
    await this.client?.close();
    this.client = undefined;
  }

  /** The database of this run (the memory and batch scenarios read it directly). */
  get database(): Db {
    if (!this.db) throw new Error('taskmesh adapter: setup() first');
    return this.db;
  }
}

/** Documents a write command wrote, from its reply (0 for reads). */
export function documentsWritten(command: string, reply: unknown): number {
  const r = (reply ?? {}) as { n?: unknown; nModified?: unknown; lastErrorObject?: { n?: unknown } };
  if (command === 'insert' || command === 'delete') return typeof r.n === 'number' ? r.n : 0;
  if (command === 'update') return typeof r.nModified === 'number' ? r.nModified : typeof r.n === 'number' ? r.n : 0;
  if (command === 'findAndModify') return typeof r.lastErrorObject?.n === 'number' ? r.lastErrorObject.n : 0;
  return 0;
}

export const createTaskmeshAdapter = (c: AdapterConfig): QueueAdapter => new TaskmeshAdapter(c);

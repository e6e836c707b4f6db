/**
 * The one interface every compared system implements (bench/compare/{taskmesh,agenda,pgboss,bullmq}.ts).
 * A task is identified by its payload `{ n }`; workers report starts and completions by `n`, which is
 * how the scenarios measure and how the smoke test checks that every task ran exactly once.
 */

export const systemNames = ['taskmesh', 'agenda', 'pgboss', 'bullmq'] as const;
export type SystemName = (typeof systemNames)[number];

export const isSystemName = (s: string): s is SystemName => (systemNames as readonly string[]).includes(s);

/**
 * How a lost worker is detected, in each system's own terms (see settings.ts `leaseTerms`):
 * `timeoutMs` is the lease/lock lifetime, `refreshMs` how often a live worker renews it, `checkMs`
 * how often something looks for expired leases.
 */
export interface LeaseSettings {
  timeoutMs: number;
  refreshMs: number;
  checkMs: number;
}

/** Where each system's own service is, and the namespace (database, schema, queue) of one run. */
export interface AdapterConfig {
  /** Unique per run: a fresh Mongo database, PostgreSQL schema or Redis queue name derives from it. */
  ns: string;
  mongoUri: string;
  /** PostgreSQL database URL for pg-boss (database must exist). */
  pgUrl: string;
  redis: { host: string; port: number };
  /** Poll interval of polling systems (taskmesh PollingInterval, Agenda processEvery, pg-boss pollingIntervalSeconds). */
  pollMs: number;
  lease: LeaseSettings;
  /** taskmesh only: Worker:BatchSize (default: the concurrency). */
  batchSize?: number;
}

export type WorkMode =
  /** Returns at once. */
  | 'noop'
  /** Keeps running (renewing its lease the system's way) until the worker stops: the recovery scenario kills it mid-task. */
  | 'hang';

export interface StartWorkerOptions {
  concurrency: number;
  mode?: WorkMode;
  /** The handler began task `n`. */
  onStart?(n: number): void;
  /** Task `n` finished and the system recorded it (or is about to: see each adapter). */
  onDone?(n: number): void;
}

export interface QueueAdapter {
  readonly system: SystemName;
  /** Name and version, as printed in the table. */
  readonly label: string;
  /** Creates the run's namespace (idempotent) and connects. A worker process calls it too, after the parent did. */
  setup(): Promise<void>;
  /** One task per call, one call after another. */
  enqueueOne(n: number): Promise<void>;
  /** Many tasks in one call, the system's bulk API (Agenda has none: see agenda.ts). */
  enqueueBulk(ns: readonly number[]): Promise<void>;
  /** Starts one worker (at most `concurrency` handlers at once); resolves once it is polling. */
  startWorker(opts: StartWorkerOptions): Promise<void>;
  /** Tasks the system has recorded as completed. */
  completed(): Promise<number>;
  /** Stops the workers this adapter started (bounded; running handlers are abandoned). */
  stop(): Promise<void>;
  /** Closes connections; `drop` also removes the namespace (the parent does, once). */
  teardown(opts?: { drop?: boolean }): Promise<void>;
}

export type AdapterFactory = (config: AdapterConfig) => QueueAdapter;

import type { Db } from 'mongodb';
import type { AppConfig } from '../config/load.js';
import { MongoTaskStore, type MongoTaskStoreOptions } from './mongo/store.js';
import type { TaskStore } from './task-store.js';

/** The store's settings from the Worker section (default retries and backoff). */
export function taskStoreOptions(config: Pick<AppConfig, 'Worker'>): MongoTaskStoreOptions {
  return {
    maxRetries: config.Worker.MaxRetries,
    backoff: { baseMs: config.Worker.RetryBaseDelay, capMs: config.Worker.RetryMaxDelay },
  };
}

/** The task store configured from the Worker section. */
export function createTaskStore(db: Db, config: Pick<AppConfig, 'Worker'>): TaskStore {
  return new MongoTaskStore(db, taskStoreOptions(config));
}

import type { Db } from 'mongodb';
import type { AppConfig } from '../config/load.js';
import { MongoTaskStore, type MongoTaskStoreOptions } from './mongo/store.js';
import type { TaskStore } from './task-store.js';

type StoreConfig = Pick<AppConfig, 'Worker'> & Partial<Pick<AppConfig, 'Ordering'>>;

/** The store's settings from the Worker section (default retries and backoff) and Ordering:OnFailure. */
export function taskStoreOptions(config: StoreConfig): MongoTaskStoreOptions {
  return {
    maxRetries: config.Worker.MaxRetries,
    backoff: { baseMs: config.Worker.RetryBaseDelay, capMs: config.Worker.RetryMaxDelay },
    ...(config.Ordering ? { orderingOnFailure: config.Ordering.OnFailure } : {}),
  };
}

/** The task store configured from the Worker and Ordering sections. */
export function createTaskStore(db: Db, config: StoreConfig): TaskStore {
  return new MongoTaskStore(db, taskStoreOptions(config));
}

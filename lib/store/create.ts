import type { Db } from 'mongodb';
import type { AppConfig } from '../config/load.js';
import { MongoTaskStore } from './mongo/store.js';

/** The task store configured from the Worker section (default retries and backoff). */
export function createTaskStore(db: Db, config: Pick<AppConfig, 'Worker'>): MongoTaskStore {
  return new MongoTaskStore(db, {
    maxRetries: config.Worker.MaxRetries,
    backoff: { baseMs: config.Worker.RetryBaseDelay, capMs: config.Worker.RetryMaxDelay },
  });
}

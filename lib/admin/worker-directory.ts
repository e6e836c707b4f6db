import type { Collection, Db, Filter } from 'mongodb';
import { WORKERS_COLLECTION, type WorkerRecord } from '../workers/model.js';
import type { WorkerDirectory } from './types.js';

/** Reads the worker registry (collection `workers`, written by the workers' heartbeats). Newest heartbeat first. */
export class MongoWorkerDirectory implements WorkerDirectory {
  private readonly workers: Collection<WorkerRecord>;

  constructor(db: Db) {
    this.workers = db.collection<WorkerRecord>(WORKERS_COLLECTION);
  }

  list(opts: { limit?: number; states?: readonly WorkerRecord['state'][] } = {}): Promise<WorkerRecord[]> {
    const filter: Filter<WorkerRecord> = opts.states?.length ? { state: { $in: [...opts.states] } } : {};
    return this.workers.find(filter).sort({ lastHeartbeatAt: -1, _id: 1 }).limit(Math.min(Math.max(opts.limit ?? 200, 1), 1000)).toArray();
  }
}

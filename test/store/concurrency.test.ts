/**
 * Real OS processes, each with its own client, contending on one database server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { lastJsonLine, runTs } from '../support/processes.js';

const PROCESSES = 4;
const TASKS = 2000;

describe('several processes on one task store', () => {
  let t: TestDb;
  let store: MongoTaskStore;
  beforeEach(async () => {
    t = await openTestDb('conc');
    store = new MongoTaskStore(t.db);
    await store.ensureIndexes();
  });
  afterEach(() => t.drop());

  async function claimRace(limit: number) {
    for (let i = 0; i < TASKS; i += 500) {
      await store.ingest(
        Array.from({ length: Math.min(500, TASKS - i) }, (_, j) => ({
          type: 'noop',
          idempotencyKey: `task-${i + j}`,
          priority: (i + j) % 3,
        })),
      );
    }
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, (_, p) =>
        runTs('test/fixtures/store/claimer.ts', {
          MONGO_URI: t.uri,
          DB_NAME: t.name,
          WORKER_ID: `proc-${p}`,
          LIMIT: String(limit),
          CONCURRENCY: '4',
          PARTIES: String(PROCESSES),
        }).then((r) => lastJsonLine<{ workerId: string; claimed: string[]; lost: string[] }>(r)),
      ),
    );
    const all = results.flatMap((r) => r.claimed);
    const counts = new Map<string, number>();
    for (const id of all) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(all).toHaveLength(TASKS);
    expect(results.flatMap((r) => r.lost)).toEqual([]);
    // Work was really shared: more than one process won tasks.
    expect(results.filter((r) => r.claimed.length > 0).length).toBeGreaterThan(1);
    const stats = await store.stats();
    expect(stats.counts.Succeeded).toBe(TASKS);
    expect(stats.total).toBe(TASKS);
    // Each task was claimed once: one attempt, finished by the process that claimed it.
    const owners = new Map(results.flatMap((r) => r.claimed.map((id) => [id, r.workerId] as const)));
    const docs = await store.tasks.find({}, { projection: { attempts: 1, owner: 1, status: 1 } }).toArray();
    for (const d of docs) {
      expect(d.attempts).toBe(1);
      expect(d.owner?.workerId).toBe(owners.get(d._id));
    }
  }

  it(`${PROCESSES} processes claim ${TASKS} tasks one at a time (findOneAndUpdate): each exactly once`, () =>
    claimRace(1));
  it(`${PROCESSES} processes claim ${TASKS} tasks in batches of 16: each exactly once`, () => claimRace(16));

  it(`${PROCESSES} processes ingesting the same 600 messages concurrently yield 600 tasks`, async () => {
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, (_, p) =>
        runTs('test/fixtures/store/ingester.ts', {
          MONGO_URI: t.uri,
          DB_NAME: t.name,
          MESSAGES: '600',
          BATCH: '50',
          PARTIES: String(PROCESSES),
          REVERSE: String(p % 2),
        }).then((r) => lastJsonLine<{ inserted: number; duplicates: number }>(r)),
      ),
    );
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(600);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(600 * (PROCESSES - 1));
    expect(await store.tasks.countDocuments({})).toBe(600);
    expect(await store.tasks.countDocuments({ status: S.Queued })).toBe(600);
  });
});

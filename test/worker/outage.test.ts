import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startReclaimerLoop, type ReclaimerLoop } from '../../lib/reclaimer/index.js';
import { createTaskStore } from '../../lib/store/create.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { WorkerRegistry } from '../../lib/worker-registry/registry.js';
import { startMongoServer, type MongoServerHandle } from '../../tools/mongo-server.js';
import { mongoManaged } from '../support/services.js';
import { freePort, spawnWorker, stopWorker, testConfig, waitFor, workerEnv, type WorkerProcess } from './helpers.js';

const TASKS = 60;
const DB = 'outage';
const settings = {
  HeartbeatInterval: 200,
  HeartbeatTimeout: 3_000,
  PollingInterval: 100,
  BatchSize: 2,
  Concurrency: 2,
  RetryBaseDelay: 50,
  RetryMaxDelay: 200,
  ShutdownTimeout: 2_000,
};

let server: MongoServerHandle | undefined;
let client: MongoClient | undefined;
let reclaimer: ReclaimerLoop | undefined;
const procs: WorkerProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'taskmesh-outage-'));

afterAll(async () => {
  await reclaimer?.stop();
  await Promise.all(procs.map((p) => stopWorker(p, 5_000)));
  await client?.close().catch(() => undefined);
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('database outage', () => {
  // The test stops and restarts a server of its own; a suite pointed at an external MONGODB_URI may have no Java to start one.
  it.skipIf(!mongoManaged())(
    'workers pause while the database is down and resume by themselves; every task finishes, none twice',
    async () => {
      const port = await freePort();
      const file = join(dir, 'outage.mv');
      server = await startMongoServer({ backend: 'h2', file, port });
      client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2_000 });
      const db = client.db(DB);
      const config = testConfig(settings);
      const store = createTaskStore(db, config);
      await store.ensureIndexes();
      await new WorkerRegistry(db).ensureIndexes();
      const { items } = await store.ingest(
        Array.from({ length: TASKS }, (_, i) => ({
          type: 'record',
          payload: { ms: 400 },
          maxRetries: 10,
          idempotencyKey: `outage-${i}`,
        })),
      );
      const ids = items.map((i) => i.taskId);

      const env = workerEnv(server.uri, DB, settings);
      for (let i = 0; i < 2; i++) procs.push(spawnWorker(env));
      await Promise.all(procs.map((p) => p.ready));
      reclaimer = startReclaimerLoop({ db, config, everyMs: 500, by: 'outage-test' });

      // Some done, most still to do: the outage hits work in flight.
      await waitFor(
        async () => (await db.collection('successes').countDocuments()) >= 3,
        'some tasks done before the outage',
      );
      expect(await db.collection('tasks').countDocuments({ status: { $ne: S.Succeeded } })).toBeGreaterThan(TASKS / 2);
      await server.stop();
      await sleep(1_000); // workers run into the outage: claims, heartbeats and completes fail
      server = await startMongoServer({ backend: 'h2', file, port });

      await waitFor(
        async () => (await db.collection('tasks').countDocuments({ status: S.Succeeded })) === TASKS,
        'all tasks Succeeded after the outage',
        150_000,
        200,
      );
      // A success is recorded just after the task is marked Succeeded (the hook runs once complete() owned it).
      await waitFor(
        async () => (await db.collection('successes').countDocuments()) >= TASKS,
        'every success recorded',
        30_000,
        100,
      ).catch(async (e: unknown) => {
        const recorded = new Set(
          (await db.collection<{ taskId: string }>('successes').find({}).toArray()).map((s) => s.taskId),
        );
        const missing = ids.filter((id) => !recorded.has(id));
        const docs = await db
          .collection('tasks')
          .find({ _id: { $in: missing as never[] } })
          .toArray();
        const logs = procs.map((p) =>
          p
            .output()
            .split('\n')
            .filter((l) => missing.some((id) => l.includes(id)) || /unavailable|failed|error/i.test(l))
            .join('\n'),
        );
        throw new Error(
          `${(e as Error).message}: missing ${JSON.stringify(docs.map((d) => ({ id: d._id, owner: d.owner, history: d.history })))}\n${logs.join('\n---\n')}`,
        );
      });
      const successes = await db.collection<{ taskId: string }>('successes').find({}).toArray();
      for (const id of ids)
        expect(
          successes.filter((s) => s.taskId === id),
          `successes of ${id}`,
        ).toHaveLength(1);
      expect(successes).toHaveLength(TASKS);
      for (const p of procs) expect(p.child.exitCode, p.output()).toBeNull(); // nobody crashed on the outage
    },
    240_000,
  );
});

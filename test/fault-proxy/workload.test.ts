/**
 * The multi-process workload through the fault proxy: 4 worker processes and a running ingest, 2,000 tasks
 * sent as queue messages (Azurite), every fault kind injected at random on the task database for the whole
 * run, then stopped. Every task ends Succeeded exactly once by an execution log kept outside the database;
 * no message is lost and none is ingested twice. Prints the faults injected per kind (all recovered: every
 * task finished). WORKLOAD_TASKS scales the run (default 2,000).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestPipeline } from '../../lib/ingest/index.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import type { FaultRule } from '../support/mongo-fault-proxy/index.js';
import { storageQueueKit, type ProviderKit } from '../support/queue-providers.js';
import { spawnWorker, stopWorker, waitFor, workerEnv, type WorkerProcess } from '../worker/helpers.js';
import { openProxiedDb, type ProxiedDb } from './support.js';

const TASKS = Number(process.env.WORKLOAD_TASKS ?? 2_000);
const WORKERS = 4;

describe('workload through the fault proxy', () => {
  let t: ProxiedDb;
  let kit: ProviderKit;
  const dir = mkdtempSync(join(tmpdir(), 'taskmesh-workload-'));
  const execLog = join(dir, 'executions.jsonl');
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    t = await openProxiedDb('fp_workload');
    kit = await storageQueueKit();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => stopWorker(w, 5_000)));
    await kit?.stop();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${TASKS} tasks, ${WORKERS} worker processes, ingest running, random faults: each task succeeds exactly once`, async () => {
    const dbName = t.direct.name;
    const client = await t.client({ serverSelectionTimeoutMS: 5_000 });
    const store = new MongoTaskStore(client.db(dbName), { maxRetries: 20 });
    await store.ensureIndexes();
    const provider = kit.make({ visibilityTimeoutMs: 5_000, maxDeliveryCount: 1_000 });
    await provider.ensureQueues();
    const sent = await provider.sendBatch(
      Array.from({ length: TASKS }, (_, i) => ({ body: JSON.stringify({ type: 'record', payload: { ms: i % 7 } }) })),
    );
    expect(sent).toHaveLength(TASKS);

    const p = 0.004;
    const onTasks = { database: dbName };
    const rules: FaultRule[] = [
      { id: 'dropReply', match: onTasks, fault: { kind: 'dropReply' }, probability: p },
      { id: 'dropRequest', match: onTasks, fault: { kind: 'dropRequest' }, probability: p },
      { id: 'cutReply', match: onTasks, fault: { kind: 'cutReply' }, probability: p },
      { id: 'delayReply', match: onTasks, fault: { kind: 'delayReply', ms: 40 }, probability: p },
      { id: 'NotWritablePrimary', match: onTasks, fault: { kind: 'error', code: 10107 }, probability: p },
      { id: 'ShutdownInProgress', match: onTasks, fault: { kind: 'error', code: 91 }, probability: p },
      { id: 'PrimarySteppedDown', match: onTasks, fault: { kind: 'error', code: 189 }, probability: p },
      { id: 'InterruptedAtShutdown', match: onTasks, fault: { kind: 'error', code: 11600 }, probability: p },
      { id: 'throttled', match: onTasks, fault: { kind: 'error', code: 16500, retryAfterMs: 25 }, probability: p },
    ];
    for (const r of rules) await t.proxy.addRule(r);

    for (let i = 0; i < WORKERS; i++) {
      const w = spawnWorker({
        ...workerEnv(t.proxy.uri, dbName, {
          PollingInterval: 100,
          HeartbeatInterval: 500,
          HeartbeatTimeout: 4_000,
          MaxRetries: 50,
          RetryBaseDelay: 50,
          RetryMaxDelay: 500,
          BatchSize: 8,
          ShutdownTimeout: 2_000,
        }),
        FIXTURE_EXEC_LOG: execLog,
        ...(i === 0 ? { FIXTURE_RECLAIMER: '1' } : {}),
      });
      workers.push(w);
    }
    await Promise.all(workers.map((w) => w.ready));

    // Ingest runs alongside the workers, through the same faulty connection.
    const pipeline = new IngestPipeline({
      store,
      provider,
      batchSize: 32,
      concurrency: 8,
      messageTimeoutMs: 20_000,
      receiveWaitMs: 500,
      maxBodyBytes: 64 * 1024,
      retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 500 },
    });
    const ingest = { stored: 0, duplicates: 0, rejected: 0, storeFailures: 0 };
    const tasks = t.direct.db.collection('tasks');
    const ingestDone = (async () => {
      while ((await tasks.countDocuments()) < TASKS) {
        const r = await pipeline.pullUntil({ deadline: Date.now() + 3_000 }).catch(() => undefined);
        if (!r) continue;
        ingest.stored += r.stored;
        ingest.duplicates += r.duplicates;
        ingest.rejected += r.rejected;
        if (r.storeError) ingest.storeFailures++;
      }
    })();

    // Faults for the whole run: until everything is ingested and most tasks have finished; then healed.
    await ingestDone;
    await waitFor(
      async () => (await tasks.countDocuments({ status: S.Succeeded })) >= TASKS * 0.9,
      '90% of the tasks to succeed under faults',
      900_000,
      500,
    );
    const during = await t.proxy.counters();
    await t.proxy.heal();
    await waitFor(
      async () => (await tasks.countDocuments({ status: S.Succeeded })) === TASKS,
      'every task to succeed',
      600_000,
      500,
    );
    await Promise.all(workers.map((w) => stopWorker(w)));

    const all = await tasks.find({}, { projection: { status: 1, source: 1 } }).toArray();
    expect(all).toHaveLength(TASKS);
    expect(all.every((x) => x.status === S.Succeeded)).toBe(true);
    // No message lost, none ingested twice: one task per sent message id.
    const messageIds = new Set(all.map((x) => (x.source as { messageId: string }).messageId));
    expect(messageIds.size).toBe(TASKS);
    expect([...messageIds].sort()).toEqual(sent.map((s) => s.id).sort());
    expect(ingest.rejected).toBe(0);

    // The external log: exactly one success per task.
    expect(existsSync(execLog)).toBe(true);
    const entries = readFileSync(execLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; taskId: string });
    const successes = new Map<string, number>();
    for (const e of entries) if (e.event === 'succeeded') successes.set(e.taskId, (successes.get(e.taskId) ?? 0) + 1);
    expect(successes.size).toBe(TASKS);
    expect([...successes.values()].every((n) => n === 1)).toBe(true);
    const executions = entries.filter((e) => e.event === 'executed').length;

    const injected = Object.fromEntries(during.rules.map((r) => [r.id, r.injected]));
    expect(Object.values(injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(during.protocolErrors).toBe(0);
    console.log(
      `WORKLOAD ${JSON.stringify({
        tasks: TASKS,
        workers: WORKERS,
        faultsInjected: injected,
        requests: during.requests.received,
        handlerExecutions: executions,
        successes: entries.length - executions,
        ingest,
      })}`,
    );
  }, 1_800_000);
});

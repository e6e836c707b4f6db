/**
 * Wake-ups across real processes, with no poll and no sweep to explain a start:
 * - `npm run worker` (PollingInterval one hour: its first idle poll comes a minute after it went idle)
 *   is woken through the database by tasks another process creates, retries, reclaims or releases,
 *   and by its own retries' backoff;
 * - `npm start` (processors run only when woken, or by the sweep at second 0 of each minute) starts
 *   tasks created through POST /api/tasks, an operator's retry, a notBefore and a backoff before
 *   the sweep could have run, and so does a message ingested from the queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskStoreOptions } from '../../lib/store/create.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { announcingStore, createWakeHub, ensureWakeIndexes, type WakeHub } from '../../lib/wake/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { freePort } from '../support/ports.js';
import { spawnWorker, stopWorker, testConfig, waitFor, workerEnv, type WorkerProcess } from '../worker/helpers.js';

const HOUR = 3_600_000;
const workerSettings = { PollingInterval: HOUR, HeartbeatInterval: 500, RetryBaseDelay: 300, RetryMaxDelay: 300 };
let seq = 0;
const key = () => `p-${Date.now()}-${seq++}`;
const claims = (t: Task) => t.history.filter((h) => h.to === S.Assigned);

describe('npm run worker is woken through the database', () => {
  let t: TestDb;
  let hub: WakeHub;
  let raw: MongoTaskStore;
  let store: TaskStore;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    t = await openTestDb('wakep');
    raw = new MongoTaskStore(t.db, taskStoreOptions(testConfig(workerSettings)));
    await raw.ensureIndexes();
    await ensureWakeIndexes(t.db);
    hub = createWakeHub(t.db, {});
    store = announcingStore(raw, hub);
  });
  afterAll(async () => {
    for (const w of workers) await stopWorker(w);
    await hub.close();
    await t.drop();
  });

  async function startWorker(): Promise<string> {
    const w = spawnWorker(workerEnv(t.uri, t.name, workerSettings));
    workers.push(w);
    const id = await w.ready;
    await sleep(500); // its first claim found nothing: from now on it waits for a wake-up
    return id;
  }
  const until = (id: string, ok: (x: Task) => boolean, what: string) =>
    waitFor(async () => {
      const x = await raw.get(id);
      return x && ok(x) ? x : undefined;
    }, what);
  const succeeded = (x: Task) => x.status === S.Succeeded;

  it('created, backoff, operator retry, notBefore, reclaim and release each start a task', async () => {
    const first = await startWorker();

    // Created by another process.
    const created = (await store.ingest([{ type: 'echo', payload: 1, idempotencyKey: key() }])).items[0]!.taskId;
    expect((await until(created, succeeded, 'the created task')).attempts).toBe(1);

    // A retry's backoff (the worker process wakes itself when it ends).
    const backoff = (await store.ingest([{ type: 'fail', payload: { times: 1 }, idempotencyKey: key() }])).items[0]!
      .taskId;
    expect((await until(backoff, succeeded, 'the retried task')).attempts).toBe(2);

    // An operator's retry.
    const failed = (await store.ingest([{ type: 'fail', payload: { times: 1 }, idempotencyKey: key(), maxRetries: 0 }]))
      .items[0]!.taskId;
    await until(failed, (x) => x.status === S.Error, 'the failure');
    await store.retry(failed, { by: 'operator' });
    expect((await until(failed, succeeded, 'the operator-retried task')).attempts).toBe(2);

    // notBefore: not claimed before it.
    const notBefore = new Date(Date.now() + 700);
    const later = (await store.ingest([{ type: 'echo', payload: 2, idempotencyKey: key(), notBefore }])).items[0]!
      .taskId;
    const ranLater = await until(later, succeeded, 'the delayed task');
    expect(claims(ranLater)[0]!.at.getTime()).toBeGreaterThanOrEqual(notBefore.getTime());

    // Reclaimed by another process.
    await raw.ingest([{ type: 'echo', payload: 3, idempotencyKey: key() }]);
    const [orphan] = await raw.claim('dead-worker', { limit: 1 });
    // The cutoff is the server's time as this process estimates it (ServerClock): leave it room.
    await sleep(300);
    expect((await store.reclaim({ heartbeatTimeoutMs: 100 })).retried).toBe(1);
    expect((await until(orphan!.task._id, succeeded, 'the reclaimed task')).attempts).toBe(2);

    // Released at shutdown by one worker process: the other one takes it.
    const long = (await store.ingest([{ type: 'sleep', payload: { ms: 120_000 }, idempotencyKey: key() }])).items[0]!
      .taskId;
    await until(long, (x) => x.status === S.Running && x.owner?.workerId === first, 'the first worker runs it');
    const second = await startWorker();
    workers[0]!.child.kill('SIGTERM'); // ShutdownTimeout default 25 s: lower it by a second signal
    await sleep(200);
    workers[0]!.child.kill('SIGTERM');
    await workers[0]!.exited;
    const moved = await until(long, (x) => x.status === S.Running && x.owner?.workerId === second, 'the second');
    expect(moved.history.some((h) => h.to === S.Queued && h.by === first)).toBe(true);
  });
});

describe('npm start wakes its processors in process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskmesh-wake-'));
  let child: ChildProcess | undefined;
  let output = '';
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, sleep(20_000)]);
      child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('API creation, a queued message, operator retry, notBefore and backoff start tasks before the sweep could run', async () => {
    const ports = { db: await freePort(), azurite: await freePort(), api: await freePort() };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TASKMESH_DATA_DIR: dataDir,
      TASKMESH_DB_PORT: String(ports.db),
      TASKMESH_AZURITE_PORT: String(ports.azurite),
      TASKMESH_PORT: String(ports.api),
      Worker__PollingInterval: String(HOUR),
      Worker__RetryBaseDelay: '300',
      Worker__RetryMaxDelay: '300',
    };
    delete env.Admin__ApiKey;
    child = spawn(process.execPath, ['--import', 'tsx', 'tools/local-runtime.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.includes('taskmesh is running.'), 'the ready banner', 150_000, 250);
    const api = `http://127.0.0.1:${ports.api}/api`;
    const headers = {
      'x-functions-key': readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim(),
      'content-type': 'application/json',
    };
    interface Detail {
      id: string;
      statusName: string;
      attempts: number;
      history: { toName: string; at: string }[];
    }
    const detail = async (id: string) =>
      (await (await fetch(`${api}/tasks/${encodeURIComponent(id)}`, { headers })).json()) as Detail;
    const create = async (body: object) => {
      const res = await fetch(`${api}/tasks`, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      return ((await res.json()) as Detail).id;
    };
    const ran = (id: string, ok: (d: Detail) => boolean, what: string) =>
      waitFor(async () => {
        const d = await detail(id);
        return ok(d) ? d : undefined;
      }, what);
    const succeeded = (d: Detail) => d.statusName === 'Succeeded';
    const listIds = async () =>
      ((await (await fetch(`${api}/tasks?limit=100`, { headers })).json()) as { items: { id: string }[] }).items.map(
        (t) => t.id,
      );
    /** The sweep runs at second 0 of each minute: a claim before the next one after `since` was a wake-up's. */
    const nextSweep = (since: number) => Math.ceil((since + 1) / 60_000) * 60_000;
    const lastClaim = (d: Detail) =>
      Math.max(...d.history.filter((h) => h.toName === 'Assigned').map((h) => Date.parse(h.at)));
    /** Starts a step at least 10 s before the next sweep, so that it cannot be what started the task. */
    const awayFromSweep = async () => {
      const left = nextSweep(Date.now()) - Date.now();
      if (left < 10_000) await sleep(left + 1_000);
      return Date.now();
    };
    await sleep(2_000); // the start-up invocation (if any) has ended: only a wake-up starts one now

    let since = await awayFromSweep();
    const created = await create({ type: 'echo', payload: { via: 'api' } });
    expect(lastClaim(await ran(created, succeeded, 'the created task'))).toBeLessThan(nextSweep(since));

    // A message through the ingest queue (Azurite): ingest stores it and wakes the processor in process.
    since = await awayFromSweep();
    const before = await listIds();
    const sent = await fetch(`${api}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ body: JSON.stringify({ type: 'echo', payload: { via: 'queue' } }) }),
    });
    expect(sent.status).toBeLessThan(300);
    const ingested = await waitFor(
      async () => (await listIds()).find((id) => !before.includes(id)),
      'the ingested task',
    );
    expect(lastClaim(await ran(ingested, succeeded, 'the ingested task'))).toBeLessThan(nextSweep(since));

    since = await awayFromSweep();
    const backoff = await create({ type: 'fail', payload: { times: 1 } });
    const b = await ran(backoff, succeeded, 'the retried task');
    expect(b.attempts).toBe(2);
    expect(lastClaim(b)).toBeLessThan(nextSweep(since));

    since = await awayFromSweep();
    const failing = await create({ type: 'fail', payload: { times: 1 }, maxRetries: 0 });
    await ran(failing, (d) => d.statusName === 'Error', 'the failure');
    expect((await fetch(`${api}/tasks/${failing}/retry`, { method: 'POST', headers })).status).toBeLessThan(300);
    const r = await ran(failing, succeeded, 'the operator-retried task');
    expect(lastClaim(r)).toBeLessThan(nextSweep(since));

    since = await awayFromSweep();
    const notBefore = Date.now() + 700;
    const later = await create({ type: 'echo', payload: 1, notBefore: new Date(notBefore).toISOString() });
    const l = await ran(later, succeeded, 'the delayed task');
    expect(lastClaim(l)).toBeGreaterThanOrEqual(notBefore);
    expect(lastClaim(l)).toBeLessThan(nextSweep(since));
  });
});

/**
 * `npm run worker` (tools/worker.ts, as the script execs it) as a separate process: it loads the
 * application's handlers (handlers/, or the module Handlers__Module names) and runs their types; a
 * broken Handlers__Module stops it at start with a clear error, not at the first task.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { startHookServer } from '../support/hook-server.js';
import { waitFor } from '../worker/helpers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixtureModule = 'test/fixtures/handlers/index.ts';

let t: TestDb;
let store: MongoTaskStore;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await openTestDb('workercmd');
  store = new MongoTaskStore(t.db);
  await store.ensureIndexes();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await t?.drop();
});

function startWorker(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/worker.ts', '--no-reclaimer'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      MONGODB_URI: t.uri,
      MongoDB__DatabaseName: t.name,
      Worker__PollingInterval: '100',
      Worker__HeartbeatInterval: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

let seq = 0;
async function ingest(type: string, payload: unknown): Promise<string> {
  const r = await store.ingest([{ type, payload, idempotencyKey: `wc-${seq++}` }]);
  return r.items[0]!.taskId;
}

const finished = (id: string) =>
  waitFor(async () => {
    const task = await store.get(id);
    return task && [S.Succeeded, S.Error, S.Timeout].includes(task.status as 23) ? task : undefined;
  }, `task ${id} to finish`);

describe('npm run worker', () => {
  it('runs a task type defined only in handlers/ (the webhook example)', async () => {
    const hook = await startHookServer();
    const w = startWorker({});
    try {
      const id = await ingest('webhook', { url: hook.url, body: { from: 'worker' } });
      const task: Task = await finished(id);
      expect(task.status, w.output()).toBe(S.Succeeded);
      expect(hook.calls).toEqual([{ from: 'worker' }]);
      expect(w.output()).toMatch(/"msg":"handlers loaded".*"webhook"/);
    } finally {
      await hook.close();
    }
    expect(await stop(w.child)).toBe(0);
  });

  it('loads the module Handlers__Module names, without the built-ins when Handlers__BuiltIns is false', async () => {
    const w = startWorker({ Handlers__Module: fixtureModule, Handlers__BuiltIns: 'false' });
    const id = await ingest('fixture-only', { word: 'hi' });
    const task = await finished(id);
    expect(task.status, w.output()).toBe(S.Succeeded);
    expect(task.result).toMatchObject({ echoed: 'HI', attempt: 1 });
    expect((task.result as { pid: number }).pid).toBe(w.child.pid);
    const loaded = /"msg":"handlers loaded".*?"types":(\[[^\]]*\])/.exec(w.output());
    expect(JSON.parse(loaded![1]!)).not.toContain('echo');
    expect(await stop(w.child)).toBe(0);
  });

  it('refuses to start with a Handlers__Module that does not exist, naming the setting', async () => {
    const w = startWorker({ Handlers__Module: 'no/such/handlers.ts' });
    const code = await new Promise<number | null>((r) => w.child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(w.output()).toContain('Handlers:Module \\"no/such/handlers.ts\\" does not exist');
  });
});

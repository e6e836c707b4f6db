/**
 * `npm start` surviving crashes, with real processes: its helper servers end with it even when it is
 * SIGKILLed (the next start binds the same ports); a helper left behind by an earlier run is found through
 * the pid records in the data directory and ended; a database server that dies is restarted and work
 * resumes; Ctrl-C with the database down still stops, and a second Ctrl-C exits at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPidRecords, recordChild } from '../../tools/child-process.js';
import { startAzuriteQueue } from '../../tools/azurite.js';
import { startFaultProxy } from '../support/mongo-fault-proxy/index.js';
import { openTestDb } from '../support/db.js';
import { freePort } from '../support/ports.js';

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Runtime {
  child: ChildProcess;
  api: string;
  key: string;
  output: () => string;
  exited: Promise<number | null>;
}

const runtimes: ChildProcess[] = [];
const dirs: string[] = [];

async function startRuntime(
  dataDir: string,
  extraEnv: Record<string, string> = {},
  ports?: { db: number; azurite: number },
) {
  const p = ports ?? { db: await freePort(), azurite: await freePort() };
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TASKMESH_DATA_DIR: dataDir,
    TASKMESH_DB_PORT: String(p.db),
    TASKMESH_AZURITE_PORT: String(p.azurite),
    TASKMESH_PORT: String(apiPort),
    Worker__PollingInterval: '200',
    Worker__HeartbeatInterval: '500',
    ...extraEnv,
  };
  delete env.Admin__ApiKey;
  if (!extraEnv.MONGODB_URI) delete env.MONGODB_URI;
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/local-runtime.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runtimes.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor(
    'the ready banner',
    async () =>
      output.includes('taskmesh is running.')
        ? true
        : child.exitCode !== null
          ? Promise.reject(new Error(output))
          : undefined,
    180_000,
  );
  const rt: Runtime = {
    child,
    api: `http://127.0.0.1:${apiPort}/api`,
    key: readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim(),
    output: () => output,
    exited,
  };
  return { rt, ports: p };
}

function newDataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'taskmesh-crash-'));
  dirs.push(d);
  return d;
}

async function runEcho(rt: Runtime, n: number): Promise<void> {
  const headers = { 'x-functions-key': rt.key, 'content-type': 'application/json' };
  const res = await fetch(`${rt.api}/tasks`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ type: 'echo', payload: { n } }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await waitFor(`task ${id} to succeed`, async () => {
    const t = (await (await fetch(`${rt.api}/tasks/${id}`, { headers })).json()) as { statusName?: string };
    return t.statusName === 'Succeeded' ? true : undefined;
  });
}

/** Starts a long `sleep` task and waits until it runs. */
async function startSleeping(rt: Runtime): Promise<void> {
  const headers = { 'x-functions-key': rt.key, 'content-type': 'application/json' };
  const res = await fetch(`${rt.api}/tasks`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ type: 'sleep', payload: { ms: 120_000 } }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await waitFor(`task ${id} to run`, async () => {
    const t = (await (await fetch(`${rt.api}/tasks/${id}`, { headers })).json()) as { statusName?: string };
    return t.statusName === 'Running' ? true : undefined;
  });
}

describe('npm start survives crashes', () => {
  afterAll(() => {
    for (const c of runtimes) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('SIGKILL: the helpers exit with it; the next start binds the same ports and keeps the tasks', async () => {
    const dataDir = newDataDir();
    const { rt, ports } = await startRuntime(dataDir);
    await runEcho(rt, 1);
    const helpers = readPidRecords(dataDir);
    expect(helpers.map((h) => h.name).sort()).toEqual(['azurite', 'database']);
    rt.child.kill('SIGKILL');
    await rt.exited;
    for (const h of helpers)
      await waitFor(`${h.name} (pid ${h.pid}) to exit`, async () => (alive(h.pid) ? undefined : true), 30_000);

    const again = await startRuntime(dataDir, {}, ports);
    await runEcho(again.rt, 2);
    again.rt.child.kill('SIGINT');
    expect(await again.rt.exited).toBe(0);
  }, 600_000);

  it('a helper left behind by an earlier run is found by its pid record and ended', async () => {
    const dataDir = newDataDir();
    const azPort = await freePort();
    // An Azurite on the runtime's port whose parent (this test) lives on: a leftover no exit watch ends.
    const stale = await startAzuriteQueue({ queuePort: azPort, location: join(dataDir, 'azurite') });
    recordChild(dataDir, { name: 'azurite', pid: stale.pid, marker: 'azurite' });
    try {
      const { rt } = await startRuntime(dataDir, {}, { db: await freePort(), azurite: azPort });
      expect(alive(stale.pid)).toBe(false);
      expect(rt.output()).toContain('ended helper servers a previous run left behind');
      await runEcho(rt, 1);
      rt.child.kill('SIGINT');
      expect(await rt.exited).toBe(0);
    } finally {
      await stale.stop();
    }
  }, 600_000);

  it('a database server that dies is restarted and work resumes', async () => {
    const dataDir = newDataDir();
    const { rt } = await startRuntime(dataDir);
    await runEcho(rt, 1);
    const db = readPidRecords(dataDir).find((h) => h.name === 'database')!;
    process.kill(db.pid, 'SIGKILL');
    await waitFor('the database to be restarted', async () => {
      const now = readPidRecords(dataDir).find((h) => h.name === 'database');
      return now && now.pid !== db.pid && alive(now.pid) ? true : undefined;
    });
    await waitFor('/api/health to answer 200 again', async () =>
      (await fetch(`${rt.api}/health`, { headers: { 'x-functions-key': rt.key } })).status === 200 ? true : undefined,
    );
    await runEcho(rt, 2);
    expect(rt.output()).toContain('database exited unexpectedly; restarting it');
    rt.child.kill('SIGINT');
    expect(await rt.exited).toBe(0);
  }, 600_000);

  it('Ctrl-C with the database down stops within the shutdown budget; a second Ctrl-C exits at once', async () => {
    const db = await openTestDb('crash_dbdown');
    const proxy = await startFaultProxy({ target: db.uri });
    try {
      for (const second of [false, true]) {
        const dataDir = newDataDir();
        const { rt } = await startRuntime(dataDir, { MONGODB_URI: proxy.uri, Worker__ShutdownTimeout: '2000' });
        await runEcho(rt, 1);
        // A task running when Ctrl-C comes keeps the stop going (up to Worker:ShutdownTimeout): the second
        // Ctrl-C then surely finds it still stopping (an idle stop can be over before it).
        if (second) await startSleeping(rt);
        // The database goes away: every connection refused and the open ones cut.
        await proxy.addRule({ id: `down-${String(second)}`, fault: { kind: 'refuseConnection' } });
        await proxy.killConnections();
        const began = Date.now();
        rt.child.kill('SIGINT');
        if (second) {
          // The second Ctrl-C as soon as the first one's stop has begun (a fixed pause could outlast the stop).
          while (!rt.output().includes('"msg":"stopping"') && rt.child.exitCode === null)
            await new Promise((r) => setTimeout(r, 5));
          const stillStopping = rt.child.exitCode === null;
          rt.child.kill('SIGINT');
          const code = await rt.exited;
          // Exit 130 is the second Ctrl-C's. Only a stop already over before it could be sent (it is sent within
          // milliseconds of "stopping") may end otherwise, and then within its budget.
          expect(stillStopping ? [130] : [0, 1]).toContain(code);
        } else {
          expect([0, 1]).toContain(await rt.exited);
        }
        console.log(`stop with the database down (second Ctrl-C: ${String(second)}): ${Date.now() - began} ms`);
        await proxy.heal();
      }
    } finally {
      await proxy.stop();
      await db.drop();
    }
  }, 600_000);
});

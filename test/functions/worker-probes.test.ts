/**
 * `npm run worker` serves liveness (/healthz) and readiness (/readyz) on --probe-port, as the
 * Kubernetes worker Deployment probes them: both 200 while it runs; after SIGTERM, while it drains a
 * running task, /readyz answers 503 (the pod leaves rotation), and the process exits 0 once the task
 * is done. A bad --probe-port is a usage error (exit 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { waitFor } from '../worker/helpers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

let t: TestDb;
let store: MongoTaskStore;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await openTestDb('workerprobe');
  store = new MongoTaskStore(t.db);
  await store.ensureIndexes();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await t?.drop();
});

function startWorker(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/worker.ts', '--no-reclaimer', ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      MONGODB_URI: t.uri,
      MongoDB__DatabaseName: t.name,
      Worker__PollingInterval: '100',
      Worker__HeartbeatInterval: '200',
      // The drain waits for the held task however long the test takes to look at /readyz.
      Worker__ShutdownTimeout: '120000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function probe(url: string): Promise<{ status: number; body: { status: string; detail: string } }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { status: string; detail: string } };
}

/** A webhook endpoint that holds each request until released: a task that runs until the test says so. */
async function startHeldHook(): Promise<{
  url: string;
  arrived: () => boolean;
  release(): void;
  close(): Promise<void>;
}> {
  const held: ServerResponse[] = [];
  let released = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (released) res.writeHead(200).end('thanks');
      else held.push(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrived: () => held.length > 0,
    release: () => {
      released = true;
      for (const res of held.splice(0)) res.writeHead(200).end('thanks');
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('npm run worker --probe-port', () => {
  it('is live and ready while it runs, not ready while it drains, and exits 0', async () => {
    const hook = await startHeldHook();
    const w = startWorker(['--probe-port', '0', '--probe-host', '127.0.0.1']);
    try {
      const port = await waitFor(() => {
        const m = /"msg":"probes listening".*?"probePort":(\d+)/.exec(w.output());
        return m ? Number(m[1]) : undefined;
      }, 'the probes listening line');
      const base = `http://127.0.0.1:${port}`;
      // Ready once the run loop runs (before that: connecting, live but not ready).
      const ready = await waitFor(async () => {
        const r = await probe(`${base}/readyz`);
        return r.status === 200 ? r : undefined;
      }, 'readiness');
      expect(ready.body).toEqual({ status: 'ok', detail: 'running' });
      expect(await probe(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok', detail: 'running' } });
      expect((await fetch(`${base}/other`)).status).toBe(404);

      const r = await store.ingest([
        { type: 'webhook', payload: { url: hook.url, timeoutMs: 120_000 }, idempotencyKey: 'probe-drain' },
      ]);
      const id = r.items[0]!.taskId;
      await waitFor(() => hook.arrived(), 'the task to reach the held webhook');

      w.child.kill('SIGTERM');
      const draining = await waitFor(async () => {
        const p = await probe(`${base}/readyz`);
        return p.status === 503 ? p : undefined;
      }, 'readiness to drop while draining');
      expect(draining.body).toEqual({ status: 'unavailable', detail: 'stopping' });
      // Still live: a draining worker must not be restarted before its tasks finish.
      expect((await probe(`${base}/healthz`)).status).toBe(200);

      hook.release();
      expect(await w.exited, w.output()).toBe(0);
      expect((await store.get(id))?.status).toBe(S.Succeeded);
    } finally {
      await hook.close();
    }
  });

  it('rejects a bad --probe-port with exit 2 and says why', async () => {
    const w = startWorker(['--probe-port', 'eighty']);
    expect(await w.exited).toBe(2);
    expect(w.output()).toMatch(/"msg":"invalid --probe-port".*"given":"eighty"/);
  });

  it('fails at start when an explicitly given probe port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const w = startWorker(['--probe-port', String(port), '--probe-host', '127.0.0.1']);
      expect(await w.exited).toBe(1);
      expect(w.output()).toContain('EADDRINUSE');
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });
});

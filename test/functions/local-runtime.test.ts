/**
 * `npm start` as a user runs it: a separate process that starts its own database and Azurite, hosts the
 * function set, takes a message through POST /api/messages to a Succeeded task, shuts down gracefully
 * on Ctrl-C (SIGINT), and finds the earlier tasks on a second start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { startHookServer } from '../support/hook-server.js';

interface TaskView {
  id: string;
  type: string;
  statusName: string;
  attempts: number;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
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

describe('npm start (the local runtime)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskmesh-local-'));
  let child: ChildProcess | undefined;
  let output = '';
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(ports: { db: number; azurite: number; api: number }, settings: NodeJS.ProcessEnv = {}) {
    output = '';
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TASKMESH_DATA_DIR: dataDir,
      TASKMESH_DB_PORT: String(ports.db),
      TASKMESH_AZURITE_PORT: String(ports.azurite),
      TASKMESH_PORT: String(ports.api),
      Worker__PollingInterval: '200',
      Worker__HeartbeatInterval: '500',
      ...settings,
    };
    delete env.Admin__ApiKey;
    child = spawn(process.execPath, ['--import', 'tsx', 'tools/local-runtime.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    await waitFor(
      'the ready banner',
      async () =>
        output.includes('taskmesh is running.')
          ? true
          : child!.exitCode !== null
            ? Promise.reject(new Error(output))
            : undefined,
      150_000,
    );
    return `http://127.0.0.1:${ports.api}/api`;
  }

  async function stop(): Promise<number | null> {
    const c = child!;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill('SIGINT');
    return exited;
  }

  it('runs a message to Succeeded, stops gracefully, and keeps the tasks for the next start', async () => {
    const ports = { db: await freePort(), azurite: await freePort(), api: await freePort() };
    const api = await start(ports);
    const key = readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim();
    expect(output).toContain(api);
    expect(output).toContain(`mongodb://127.0.0.1:${ports.db}`);
    const headers = { 'x-functions-key': key, 'content-type': 'application/json' };

    // Without the key nothing is sent.
    expect(
      (
        await fetch(`${api}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ body: '{"type":"echo"}' }),
        })
      ).status,
    ).toBe(401);

    const sent = await fetch(`${api}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ body: JSON.stringify({ type: 'echo', payload: { hello: 'world' } }) }),
    });
    expect(sent.status).toBeLessThan(300);
    await fetch(`${api}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ body: JSON.stringify({ type: 'sleep', payload: { ms: 120_000 } }) }),
    });

    const list = async () =>
      ((await (await fetch(`${api}/tasks?limit=50`, { headers })).json()) as { items: TaskView[] }).items;
    const echo = await waitFor('the echo task to succeed', async () =>
      (await list()).find((t) => t.type === 'echo' && t.statusName === 'Succeeded'),
    );
    const detail = (await (await fetch(`${api}/tasks/${echo.id}`, { headers })).json()) as { result: unknown };
    expect(detail.result).toEqual({ hello: 'world' });
    await waitFor('the sleep task to run', async () =>
      (await list()).find((t) => t.type === 'sleep' && t.statusName === 'Running'),
    );

    // A type defined only in handlers/ (the example webhook) runs here too.
    const hook = await startHookServer();
    try {
      const hooked = await fetch(`${api}/messages`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ body: { type: 'webhook', payload: { url: hook.url, body: { from: 'npm start' } } } }),
      });
      expect(hooked.status).toBe(202);
      await waitFor('the webhook task to succeed', async () =>
        (await list()).find((t) => t.type === 'webhook' && t.statusName === 'Succeeded'),
      );
      expect(hook.calls).toEqual([{ from: 'npm start' }]);
    } finally {
      await hook.close();
    }
    // A type no handler declares is refused at the door, with the known types.
    const types = (await (await fetch(`${api}/task-types`, { headers })).json()) as { known: string[] };
    expect(types.known).toEqual(expect.arrayContaining(['echo', 'sleep', 'fail', 'webhook']));
    for (const [path, body] of [
      ['messages', { body: { type: 'nope' } }],
      ['tasks', { type: 'nope' }],
    ] as const) {
      const refused = await fetch(`${api}/${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { knownTypes: string[] }).knownTypes).toEqual(types.known);
    }

    expect(await stop()).toBe(0);
    expect(output).toMatch(/"msg":"stopped"/);

    // Second start: the earlier tasks are there; the interrupted one was released, not lost.
    const api2 = await start({ ...ports, api: await freePort() });
    const headers2 = { 'x-functions-key': key };
    const tasks = (
      (await (await fetch(`${api2}/tasks?limit=50`, { headers: headers2 })).json()) as { items: TaskView[] }
    ).items;
    expect(tasks.find((t) => t.id === echo.id)?.statusName).toBe('Succeeded');
    const sleep = tasks.find((t) => t.type === 'sleep');
    expect(sleep).toBeDefined();
    expect(['Queued', 'Assigned', 'Running']).toContain(sleep!.statusName);
    expect(sleep!.attempts).toBeLessThanOrEqual(1);
    expect(await stop()).toBe(0);
  });

  it('an idle Ctrl-C ends the ingest long poll: "stopped" and exit 0 within its budget, even with ReceiveWaitTime 30 s', async () => {
    // The graceful stop's budget is Worker:ShutdownTimeout + 10 s = 11 s here; a stop that sat out the
    // 30 s long poll would be cut off by it (exit 1, "took longer than its budget").
    const ports = { db: await freePort(), azurite: await freePort(), api: await freePort() };
    await start(ports, { Ingest__ReceiveWaitTime: '30000', Worker__ShutdownTimeout: '1000' });
    // Let the ingest loop get into its long poll.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stop()).toBe(0);
    expect(output).toMatch(/"msg":"stopped"/);
    expect(output).not.toMatch(/longer than its budget/);
  });
});

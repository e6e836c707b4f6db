import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig, type AppConfig } from '../../lib/config/index.js';

export const fixturePath = fileURLToPath(new URL('../fixtures/worker-process.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A full configuration from defaults plus the given Worker settings (no environment). */
export function testConfig(worker: Record<string, unknown> = {}, retention: Record<string, unknown> = {}): AppConfig {
  return loadConfig({ env: {}, overrides: { Worker: worker, Retention: retention } });
}

/** Polls `check` until it returns a value other than undefined/false. The limit only bounds a hung test; nothing asserts on time. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  limitMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + limitMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e; // e.g. the database is down on purpose
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the worker id once it runs. */
  ready: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  summary(): unknown;
}

/** Spawns test/fixtures/worker-process.ts (`node --import tsx`), configured by env like `npm run worker`. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixturePath], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let summary: unknown;
  const keep = (l: string) => {
    lines.push(l);
    if (lines.length > 5_000) lines.shift();
  };
  let resolveReady!: (id: string) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<string>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let i: number;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      keep(`[out] ${line}`);
      const m = /^READY (\S+)/.exec(line);
      if (m) resolveReady(m[1]!);
      const s = /^SUMMARY (.*)$/.exec(line);
      if (s) summary = JSON.parse(s[1]!);
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n')) if (l) keep(l);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      rejectReady(new Error(`worker exited (${code ?? signal}) before it was ready:\n${lines.join('\n')}`));
      res({ code, signal });
    });
  });
  ready.catch(() => undefined);
  return { child, ready, exited, output: () => lines.join('\n'), summary: () => summary };
}

/** Env for a fixture worker on `uri`/`dbName` with the given Worker settings. */
export function workerEnv(
  uri: string,
  dbName: string,
  worker: Record<string, string | number>,
): Record<string, string> {
  const env: Record<string, string> = { MONGODB_URI: uri, MongoDB__DatabaseName: dbName, LOG_LEVEL: 'info' };
  for (const [k, v] of Object.entries(worker)) env[`Worker__${k}`] = String(v);
  return env;
}

/** Stops a fixture worker (SIGTERM, then SIGKILL if it does not exit). */
export async function stopWorker(w: WorkerProcess, killAfterMs = 20_000): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const t = setTimeout(() => w.child.kill('SIGKILL'), killAfterMs);
  await w.exited;
  clearTimeout(t);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

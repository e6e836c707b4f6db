/** Starts bench/compare/worker-process.ts children and talks to them (the parent's side of ipc.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childToParent, type ChildMessage, type ChildSpec, type ParentMessage } from './ipc.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const script = join(here, 'worker-process.ts');

export interface WorkerProcessEvents {
  onStarted?(ns: readonly number[]): void;
  onDone?(ns: readonly number[]): void;
  onMemory?(m: Extract<ChildMessage, { t: 'mem' }>): void;
}

export interface WorkerProcess {
  readonly pid: number;
  /** Resolves when the process connected and set up; rejects if it failed or did not in `readyTimeoutMs`. */
  readonly ready: Promise<void>;
  /** Resolves when the process is gone (any reason). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  go(): void;
  /** Asks it to close; SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  kill(): void;
  stderrTail(): string;
}

export function spawnWorkerProcess(
  spec: ChildSpec,
  events: WorkerProcessEvents = {},
  readyTimeoutMs = 60_000,
): WorkerProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', script, spec.system, String(spec.concurrency)],
    {
      cwd: root,
      env: { ...process.env, BENCH_COMPARE_CHILD: JSON.stringify(spec) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  const ready = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${spec.system} worker process not ready in ${readyTimeoutMs} ms: ${stderr}`));
    }, readyTimeoutMs);
    child.on('message', (raw: unknown) => {
      const parsed = childToParent.safeParse(raw);
      if (!parsed.success) return;
      const m = parsed.data;
      switch (m.t) {
        case 'ready':
          clearTimeout(timer);
          res();
          break;
        case 'started':
          events.onStarted?.(m.ns);
          break;
        case 'done':
          events.onDone?.(m.ns);
          break;
        case 'mem':
          events.onMemory?.(m);
          break;
        case 'error':
          clearTimeout(timer);
          rej(new Error(`${spec.system} worker process failed: ${m.message}`));
          break;
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(
        new Error(
          `${spec.system} worker process exited (code ${code}, signal ${signal}) before it was ready: ${stderr}`,
        ),
      );
    });
  });
  ready.catch(() => undefined);
  const sendMsg = (m: ParentMessage) => {
    if (child.connected) child.send(m);
  };
  return {
    pid: child.pid ?? -1,
    ready,
    exited,
    go: () => sendMsg({ t: 'go' }),
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      sendMsg({ t: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill: () => {
      child.kill('SIGKILL');
    },
    stderrTail: () => stderr,
  };
}

/**
 * Starts and stops Azurite's Queue service from the npm package (node_modules/azurite), for tests and
 * the local runtime. Port 0 picks a free port (Azurite prints the one it got). Without a `location`
 * the data lives in memory; with one it persists there.
 */
import { EXIT_WITH_PARENT_IMPORT, exitOf, stopChild } from './child-process.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** Azurite's documented development account (public; the same in every Azurite install). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  host?: string;
  /** 0 (default) picks a free port; 10001 is Azurite's usual one. */
  queuePort?: number;
  /** Persist data in this folder; unset keeps everything in memory. */
  location?: string;
  /** Access log on the child's stdout (default off). */
  accessLog?: boolean;
  startTimeoutMs?: number;
}

export interface AzuriteHandle {
  queueEndpoint: string;
  queuePort: number;
  /** Explicit connection string for this instance (the port may not be the default one). */
  connectionString: string;
  pid: number;
  /** Resolves when the process has exited, stopped or not. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export function azuriteConnectionString(host: string, port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_ACCOUNT_KEY};QueueEndpoint=http://${host}:${port}/${AZURITE_ACCOUNT};`;
}

function azuriteQueueMain(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'queue', 'main.js');
}

export async function startAzuriteQueue(opts: AzuriteOptions = {}): Promise<AzuriteHandle> {
  const host = opts.host ?? '127.0.0.1';
  // Azurite writes its workspace (and, in memory mode, nothing else) under its cwd: keep it out of the repo.
  const workDir = opts.location ? resolve(opts.location) : mkdtempSync(join(tmpdir(), 'azurite-'));
  mkdirSync(workDir, { recursive: true });
  const args = [
    '--import',
    EXIT_WITH_PARENT_IMPORT,
    azuriteQueueMain(),
    '--queueHost',
    host,
    '--queuePort',
    String(opts.queuePort ?? 0),
    '--skipApiVersionCheck',
    '--loose',
    '--disableTelemetry',
    ...(opts.location ? ['--location', workDir] : ['--inMemoryPersistence']),
    ...(opts.accessLog ? [] : ['--silent']),
  ];
  // Its own process group: a Ctrl-C meant for the parent must not stop Azurite before the parent has shut down
  // gracefully. Its stdin is our pipe: when we die, even by SIGKILL, the pipe closes and Azurite exits.
  const child = spawn(process.execPath, args, { cwd: workDir, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  // Never outlive the process that started it (a crashed test run must not leave Azurite behind).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const cleanup = () => {
    process.off('exit', killOnExit);
    if (!opts.location) rmSync(workDir, { recursive: true, force: true });
  };
  let endpoint: string;
  try {
    endpoint = await waitForListening(child, opts.startTimeoutMs ?? 30_000);
  } catch (e) {
    cleanup();
    throw e;
  }
  const port = Number(new URL(endpoint).port);
  return {
    queueEndpoint: `http://${host}:${port}/${AZURITE_ACCOUNT}`,
    queuePort: port,
    connectionString: azuriteConnectionString(host, port),
    pid: child.pid ?? -1,
    exited: exitOf(child),
    stop: async () => {
      await stopChild(child);
      cleanup();
    },
  };
}

function waitForListening(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Azurite (queue) did not start within ${timeoutMs} ms: ${(err || out).slice(-2000)}`));
    }, timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-10_000);
      const m = /successfully listens on (https?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        out = '';
        resolvePromise(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite (queue) exited with code ${code} before it listened: ${(err || out).slice(-2000)}`));
    });
  });
}

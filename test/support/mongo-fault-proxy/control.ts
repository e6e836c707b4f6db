/**
 * Controlling a proxy that runs in another process: a small HTTP API on loopback (serveControl), a client with
 * the same interface as the in-process proxy (RemoteFaultProxy), and spawnFaultProxy(), which starts main.ts as a
 * child process and returns that client. Multi-process tests start one proxy, hand its uri to every worker
 * process, and steer faults from the test.
 *
 *   GET    /info              { uri, port, seed, pid }
 *   GET    /counters          ProxyCounters
 *   POST   /rules             a rule (JSON)  -> 201 { id }
 *   DELETE /rules/{id}        { removed }
 *   POST   /heal              { healed: true }
 *   POST   /kill-connections  { killed }
 *   POST   /stop              { stopped: true }, then the process exits
 * Errors are RFC 9457 problems (application/problem+json), with `issues` for a rule that does not parse.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuplicateRuleError, type FaultProxy, type FaultProxyControl, type ProxyCounters } from './proxy.js';
import { InvalidRuleError, type FaultRule } from './rules.js';

const MAX_BODY_BYTES = 1024 * 1024;

class ControlProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(detail);
    this.name = 'ControlProblem';
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES)
      throw new ControlProblem(413, 'Request body too large', `at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ControlProblem(400, 'Invalid JSON', 'the body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
}

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `proxy` on loopback. `onStop` runs after POST /stop has been answered (the entry point exits there). */
export async function serveControl(
  proxy: FaultProxy,
  opts: { host?: string; port?: number; onStop?: () => void } = {},
): Promise<ControlServer> {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://control').pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/info')
      return send(res, 200, { uri: proxy.uri, port: proxy.port, seed: proxy.seed, pid: process.pid });
    if (method === 'GET' && path === '/counters') return send(res, 200, await proxy.counters());
    if (method === 'POST' && path === '/rules')
      return send(res, 201, { id: await proxy.addRule((await readJson(req)) as FaultRule) });
    const ruleId = /^\/rules\/([^/]+)$/.exec(path)?.[1];
    if (method === 'DELETE' && ruleId !== undefined)
      return send(res, 200, { removed: await proxy.removeRule(decodeURIComponent(ruleId)) });
    if (method === 'POST' && path === '/heal') {
      await proxy.heal();
      return send(res, 200, { healed: true });
    }
    if (method === 'POST' && path === '/kill-connections')
      return send(res, 200, { killed: await proxy.killConnections() });
    if (method === 'POST' && path === '/stop') {
      await proxy.stop();
      send(res, 200, { stopped: true });
      res.on('finish', () => opts.onStop?.());
      return;
    }
    throw new ControlProblem(404, 'Not found', `no route ${method} ${path}`);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      // addRule parses with zod: a rule that does not parse is the caller's mistake (400), listed field by field.
      const problem =
        e instanceof ControlProblem
          ? e
          : e instanceof InvalidRuleError
            ? new ControlProblem(400, 'Invalid rule', e.message, e.issues)
            : e instanceof DuplicateRuleError
              ? new ControlProblem(409, 'Duplicate rule id', e.message)
              : new ControlProblem(500, 'Internal error', e instanceof Error ? e.message : String(e));
      send(
        res,
        problem.status,
        {
          type: 'about:blank',
          title: problem.title,
          status: problem.status,
          detail: problem.message,
          ...(problem.issues ? { issues: problem.issues } : {}),
        },
        'application/problem+json',
      );
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        // fetch keeps connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      }),
  };
}

/** The control API answered with an error. */
export class FaultProxyControlError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly issues: { path: string; message: string }[] | undefined,
    readonly operation: string,
  ) {
    super(`fault proxy control ${operation} failed (${status}): ${detail}`);
    this.name = 'FaultProxyControlError';
  }
}

/** A proxy in another process, driven over its control API; same interface as the in-process FaultProxy. */
export class RemoteFaultProxy implements FaultProxyControl {
  constructor(
    readonly uri: string,
    readonly controlUrl: string,
  ) {}

  /** Reaches a proxy already running (e.g. started by another test process) by its control URL. */
  static async connect(controlUrl: string): Promise<RemoteFaultProxy> {
    const info = await call<{ uri: string }>(controlUrl, 'GET', '/info');
    return new RemoteFaultProxy(info.uri, controlUrl);
  }

  async addRule(rule: FaultRule): Promise<string> {
    return (await call<{ id: string }>(this.controlUrl, 'POST', '/rules', rule)).id;
  }

  async removeRule(id: string): Promise<boolean> {
    return (await call<{ removed: boolean }>(this.controlUrl, 'DELETE', `/rules/${encodeURIComponent(id)}`)).removed;
  }

  async heal(): Promise<void> {
    await call(this.controlUrl, 'POST', '/heal');
  }

  counters(): Promise<ProxyCounters> {
    return call<ProxyCounters>(this.controlUrl, 'GET', '/counters');
  }

  async killConnections(): Promise<number> {
    return (await call<{ killed: number }>(this.controlUrl, 'POST', '/kill-connections')).killed;
  }

  async stop(): Promise<void> {
    await call(this.controlUrl, 'POST', '/stop');
  }
}

// The peer is our own control server (serveControl above), so its success bodies have the declared shapes.
async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = (text ? JSON.parse(text) : {}) as unknown;
  if (!res.ok) {
    const p = parsed as { detail?: string; issues?: { path: string; message: string }[] };
    throw new FaultProxyControlError(res.status, p.detail ?? text, p.issues, `${method} ${path}`);
  }
  return parsed as T;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FAULT_PROXY_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), 'main.ts');

export interface SpawnFaultProxyOptions {
  target: string;
  seed?: number;
  /** Proxy port; default a free one. */
  port?: number;
  rules?: FaultRule[];
  /** How long to wait for the child to listen. */
  startTimeoutMs?: number;
}

/** The proxy could not be started as a process. */
export class FaultProxyStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultProxyStartError';
  }
}

/** A proxy child process; stop() asks it to stop, then ends it if it does not. */
export class SpawnedFaultProxy extends RemoteFaultProxy {
  constructor(
    uri: string,
    controlUrl: string,
    readonly child: ChildProcess,
    readonly output: { stdout: string; stderr: string },
  ) {
    super(uri, controlUrl);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  override async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    await super.stop().catch(() => this.child.kill('SIGTERM'));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts main.ts with `node --import tsx` and returns a client for its control API. */
export async function spawnFaultProxy(opts: SpawnFaultProxyOptions): Promise<SpawnedFaultProxy> {
  const args = ['--import', 'tsx', FAULT_PROXY_MAIN, '--target', opts.target, '--exit-with-parent'];
  if (opts.seed !== undefined) args.push('--seed', String(opts.seed));
  if (opts.port !== undefined) args.push('--port', String(opts.port));
  if (opts.rules) args.push('--rules', JSON.stringify(opts.rules));
  // stdin stays a pipe: the child exits when it closes, i.e. when this process dies, however it dies.
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stderr.on('data', (d: Buffer) => (output.stderr += d.toString()));
  return new Promise<SpawnedFaultProxy>((resolveStart, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new FaultProxyStartError(`fault proxy process ${why}; stderr: ${output.stderr.slice(-2000)}`));
    };
    const timer = setTimeout(
      () => fail(`did not listen within ${opts.startTimeoutMs ?? 60_000} ms`),
      opts.startTimeoutMs ?? 60_000,
    );
    child.on('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
    child.stdout.on('data', (d: Buffer) => {
      output.stdout += d.toString();
      if (settled) return;
      const lines = output.stdout.split('\n');
      lines.pop(); // the last piece may be a line still arriving
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        let msg: { event?: string; uri?: string; controlUrl?: string };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          continue;
        }
        if (msg.event === 'listening' && msg.uri && msg.controlUrl) {
          settled = true;
          clearTimeout(timer);
          resolveStart(new SpawnedFaultProxy(msg.uri, msg.controlUrl, child, output));
          return;
        }
      }
    });
  });
}

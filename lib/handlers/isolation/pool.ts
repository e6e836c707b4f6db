/**
 * A bounded, reused pool of worker threads or child processes that run isolated handlers, one task at a
 * time each. A thread or process that dies under its task fails only that task (HandlerCrashedError,
 * with the reason) and is replaced; an abort (timeout, cancel, lost lease, shutdown) asks the handler to
 * stop and terminates it after a short grace, so a busy loop cannot outlive its task.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import type { HandlerContext } from '../handler.js';
import { HandlerCrashedError, NonRetryableError } from '../errors.js';
import type { FromIsolate, SerializedError, ToIsolate } from './protocol.js';

export interface PoolOptions {
  kind: 'thread' | 'process';
  /** Threads or processes at most (tasks beyond wait for one). */
  size: number;
  /** Heap limit of one thread or process, in MB. */
  memoryLimitMb?: number;
  /** After an abort, how long the handler may take to stop before its thread or process is terminated. */
  abortGraceMs?: number;
}

/** One thread or child process, seen the same way. */
interface Isolate {
  post(m: ToIsolate): void;
  onMessage(fn: (m: FromIsolate) => void): void;
  /** Called once when it is gone (with why, when that is known). */
  onExit(fn: (why: string) => void): void;
  kill(): Promise<void>;
  ref(on: boolean): void;
}

const entryUrl = new URL(`./entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** From source, the thread or process needs tsx's loader to import TypeScript (the entry and the handler modules). */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** A thread registers tsx's hooks through its API (an --import in a thread's execArgv is not applied in time). */
function tsxApiUrl(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
}

function describeError(e: SerializedError | Error): string {
  return `${e.name}: ${e.message}`;
}

function spawnThread(o: PoolOptions, needsTsx: boolean): Isolate {
  const limits = o.memoryLimitMb ? { resourceLimits: { maxOldGenerationSizeMb: o.memoryLimitMb } } : {};
  const t = needsTsx
    ? new Thread(
        `import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entryUrl.href)}); });`,
        { eval: true, ...limits, stderr: false },
      )
    : new Thread(entryUrl, limits);
  let lastError: Error | undefined;
  t.on('error', (e) => {
    lastError = e;
  });
  return {
    post: (m) => t.postMessage(m),
    onMessage: (fn) => void t.on('message', fn),
    onExit: (fn) =>
      void t.once('exit', (code) =>
        fn(
          lastError
            ? (lastError as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? `out of memory (${lastError.message})`
              : `uncaught ${describeError(lastError)}`
            : `thread exited with code ${code}`,
        ),
      ),
    kill: async () => {
      await t.terminate();
    },
    ref: (on) => (on ? t.ref() : t.unref()),
  };
}

function spawnProcess(o: PoolOptions, needsTsx: boolean): Isolate {
  const execArgv = [
    ...(needsTsx ? ['--import', tsxLoaderUrl()] : []),
    ...(o.memoryLimitMb ? [`--max-old-space-size=${o.memoryLimitMb}`] : []),
  ];
  const c: ChildProcess = fork(entryUrl, [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  // The tail of stderr explains a death the process could not report (out of memory, a native abort).
  let stderrTail = '';
  c.stderr?.on('data', (d: Buffer) => {
    process.stderr.write(d);
    stderrTail = (stderrTail + d.toString('utf8')).slice(-2_000);
  });
  let crash: SerializedError | undefined;
  return {
    post: (m) => void c.send(m),
    onMessage: (fn) =>
      void c.on('message', (m: FromIsolate) => {
        if (m.kind === 'crash') crash = m.error;
        else fn(m);
      }),
    onExit: (fn) =>
      void c.once('exit', (code, signal) => {
        if (crash) return fn(`uncaught ${describeError(crash)}`);
        const oom = /heap out of memory|Allocation failed/i.test(stderrTail);
        const line = stderrTail.trim().split('\n').slice(-1)[0] ?? '';
        fn(
          oom
            ? `out of memory (${line.trim()})`
            : `process exited with ${signal ? `signal ${signal}` : `code ${code}`}${line ? ` (${line.trim()})` : ''}`,
        );
      }),
    kill: () =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.ref(); // an idle child is unref'd: its exit must still keep this process waiting for it
        c.kill('SIGKILL');
      }),
    ref: (on) => {
      if (on) {
        c.ref();
        c.channel?.ref();
      } else {
        c.unref();
        c.channel?.unref();
      }
    },
  };
}

interface Slot {
  isolate: Isolate;
  /** The task it runs now. */
  current?: { id: number; onMessage(m: FromIsolate): void; onExit(why: string): void };
  alive: boolean;
}

export class IsolationPool {
  private readonly idle: Slot[] = [];
  private readonly all = new Set<Slot>();
  private readonly waiting: ((s: Slot) => void)[] = [];
  private seq = 0;
  private closed = false;

  constructor(
    private readonly o: PoolOptions,
    /** Whether a module to import is TypeScript (running from source). */
    private readonly needsTsx: boolean,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Runs one task's handler (by module and type) in a thread or process of the pool. */
  async run(module: string, payload: unknown, ctx: HandlerContext): Promise<unknown> {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const slot = await this.acquire(ctx.signal);
    const id = ++this.seq;
    return new Promise<unknown>((resolve, reject) => {
      let killTimer: NodeJS.Timeout | undefined;
      const finish = (reuse: boolean) => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        slot.current = undefined;
        if (reuse && slot.alive) this.release(slot);
        else void this.discard(slot);
      };
      const onAbort = () => {
        slot.isolate.post({ kind: 'abort', id, reason: abortReasonText(ctx.signal.reason) });
        killTimer = setTimeout(() => {
          finish(false);
          reject(ctx.signal.reason);
        }, this.o.abortGraceMs ?? 200);
      };
      slot.current = {
        id,
        onMessage: (m) => {
          if (m.kind === 'crash' || m.id !== id) return;
          if (m.kind === 'progress') ctx.progress(m.value);
          else if (m.kind === 'log') ctx.logger[m.level](m.msg, m.fields);
          else {
            // A handler that stopped on the abort still left its thread usable.
            finish(true);
            if (m.ok) resolve(m.value);
            else reject(reviveError(m.error));
          }
        },
        onExit: (why) => {
          finish(false);
          reject(ctx.signal.aborted ? ctx.signal.reason : new HandlerCrashedError(why, this.o.kind));
        },
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      slot.isolate.ref(true);
      slot.isolate.post({
        kind: 'run',
        id,
        module,
        type: ctx.type,
        payload,
        taskId: ctx.taskId,
        workerId: ctx.workerId,
        attempt: ctx.attempt,
        deadline: ctx.deadline.getTime(),
      });
    });
  }

  /** Terminates every thread or process (running tasks end as crashed, unless aborted first). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((s) => this.discard(s)));
  }

  private spawn(): Slot {
    const isolate = this.o.kind === 'thread' ? spawnThread(this.o, this.needsTsx) : spawnProcess(this.o, this.needsTsx);
    const slot: Slot = { isolate, alive: true };
    isolate.onMessage((m) => slot.current?.onMessage(m));
    isolate.onExit((why) => {
      slot.alive = false;
      this.all.delete(slot);
      const i = this.idle.indexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
      slot.current?.onExit(why);
      this.handOn();
    });
    this.all.add(slot);
    return slot;
  }

  private acquire(signal: AbortSignal): Promise<Slot> {
    if (this.closed) return Promise.reject(new Error('isolation pool closed'));
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.all.size < this.o.size) return Promise.resolve(this.spawn());
    return new Promise<Slot>((resolve, reject) => {
      const take = (s: Slot) => {
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(take);
    });
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) return next(slot);
    slot.isolate.ref(false);
    this.idle.push(slot);
  }

  private async discard(slot: Slot): Promise<void> {
    slot.alive = false;
    this.all.delete(slot);
    const i = this.idle.indexOf(slot);
    if (i >= 0) this.idle.splice(i, 1);
    await slot.isolate.kill().catch(() => undefined);
    this.handOn();
  }

  /** A waiter gets a fresh thread or process once one is gone. */
  private handOn(): void {
    if (this.closed) return;
    while (this.waiting.length > 0 && this.all.size < this.o.size) this.waiting.shift()!(this.spawn());
  }
}

function abortReasonText(reason: unknown): string {
  if (reason && typeof reason === 'object' && 'reason' in reason) return String((reason as { reason: unknown }).reason);
  return reason instanceof Error ? reason.message : String(reason);
}

function reviveError(e: SerializedError): Error {
  const err = e.nonRetryable ? new NonRetryableError(e.message) : new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * The code of an isolated handler's thread or child process: imports the handler module a task names
 * (cached), runs one task at a time, and reports progress, logs and the outcome to the worker. The
 * worker keeps the lease and heartbeats on its own loop; it terminates this thread or process on a
 * timeout or cancel.
 */
import { parentPort } from 'node:worker_threads';
import type { z } from 'zod';
import type { Logger, LogFields } from '../../log/logger.js';
import type { HandlerContext, TaskHandler } from '../handler.js';
import { importHandlerModule } from '../module.js';
import { cloneable, serializeError, type FromIsolate, type RunMessage, type ToIsolate } from './protocol.js';

type AnyHandler = TaskHandler<z.ZodType, unknown>;

const send: (m: FromIsolate) => void = parentPort
  ? (m) => parentPort!.postMessage(m)
  : (m) => {
      process.send?.(m);
    };

const modules = new Map<string, Promise<Map<string, AnyHandler>>>();
const running = new Map<number, AbortController>();

function handlersOf(url: string): Promise<Map<string, AnyHandler>> {
  let p = modules.get(url);
  if (!p) {
    p = importHandlerModule(url).then((hs) => new Map(hs.map((h) => [h.type, h])));
    modules.set(url, p);
  }
  return p;
}

function logger(id: number, bound: LogFields): Logger {
  const emit =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: LogFields): void =>
      send({
        kind: 'log',
        id,
        level,
        msg,
        ...(fields || Object.keys(bound).length
          ? { fields: cloneable({ ...bound, ...fields }) as Record<string, unknown> }
          : {}),
      });
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => logger(id, { ...bound, ...fields }),
  };
}

async function run(m: RunMessage): Promise<void> {
  const controller = new AbortController();
  running.set(m.id, controller);
  try {
    const handler = (await handlersOf(m.module)).get(m.type);
    if (!handler) throw new Error(`handler module ${m.module} does not export a handler for "${m.type}"`);
    // The worker validated the payload; parsing again gives the handler the schema's output (defaults, transforms).
    const payload = handler.schema.parse(m.payload);
    const log = logger(m.id, {});
    const ctx: HandlerContext = {
      taskId: m.taskId,
      workerId: m.workerId,
      type: m.type,
      attempt: m.attempt,
      signal: controller.signal,
      logger: log,
      log,
      deadline: new Date(m.deadline),
      progress: (value) => send({ kind: 'progress', id: m.id, value: cloneable(value) }),
    };
    const value = await handler.run(payload, ctx);
    send({ kind: 'done', id: m.id, ok: true, value: cloneable(value) });
  } catch (e) {
    send({ kind: 'done', id: m.id, ok: false, error: serializeError(e) });
  } finally {
    running.delete(m.id);
  }
}

function onMessage(m: ToIsolate): void {
  if (m.kind === 'run') void run(m);
  else running.get(m.id)?.abort(Object.assign(new Error(`task aborted: ${m.reason}`), { name: 'AbortError' }));
}

if (parentPort) parentPort.on('message', onMessage);
else {
  process.on('message', (m: ToIsolate) => onMessage(m));
  // A child process reports its own death; a thread's is reported by its 'error' event.
  process.on('uncaughtException', (e) => {
    const bye = () => process.exit(1);
    if (process.send) process.send({ kind: 'crash', error: serializeError(e) } satisfies FromIsolate, bye);
    else bye();
    setTimeout(bye, 1_000).unref();
  });
  process.on('disconnect', () => process.exit(0));
}

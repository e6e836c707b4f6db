/** Messages between the worker and an isolated handler's thread or process (structured-clone values). */

export interface RunMessage {
  kind: 'run';
  id: number;
  module: string;
  type: string;
  payload: unknown;
  taskId: string;
  workerId: string;
  attempt: number;
  deadline: number;
}

export interface AbortMessage {
  kind: 'abort';
  id: number;
  reason: string;
}

export type ToIsolate = RunMessage | AbortMessage;

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  nonRetryable: boolean;
}

export type FromIsolate =
  | { kind: 'progress'; id: number; value: unknown }
  | {
      kind: 'log';
      id: number;
      level: 'debug' | 'info' | 'warn' | 'error';
      msg: string;
      fields?: Record<string, unknown>;
    }
  | { kind: 'done'; id: number; ok: true; value: unknown }
  | { kind: 'done'; id: number; ok: false; error: SerializedError }
  /** The process is about to die of an uncaught error (a thread reports it through its 'error' event). */
  | { kind: 'crash'; error: SerializedError };

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error)
    return {
      name: e.name || 'Error',
      message: e.message || e.name,
      ...(e.stack ? { stack: e.stack } : {}),
      // By name: the handler module has its own copy of the class when loaded in another realm.
      nonRetryable: e.name === 'NonRetryableError',
    };
  return { name: 'Thrown', message: typeof e === 'string' ? e : String(e), nonRetryable: false };
}

/** Values that cannot be cloned (functions, class instances with handles) go as JSON, or as text. */
export function cloneable(v: unknown): unknown {
  try {
    structuredClone(v);
    return v;
  } catch {
    try {
      return JSON.parse(JSON.stringify(v)) as unknown;
    } catch {
      return String(v);
    }
  }
}
